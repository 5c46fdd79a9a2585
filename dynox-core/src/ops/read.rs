//! What [`Query`](super::query::Query) and [`Scan`](super::scan::Scan) share: the read
//! options both builders hold, and the checks and expressions made from them.

use crate::error::{Error, InvalidRequestKind, Result};
use crate::expr::{Condition, Placeholders};
use crate::item::Item;
use crate::model::{FieldError, Model};
use crate::page::PageToken;
use crate::projection::Projection;
use crate::schema::{IndexKind, IndexSchema};
use crate::Client;

/// The options of a read of many items: which table or index, what to filter, how many
/// items, how many per request, how consistent, where to start. What items decode into (the
/// projection) is the builder's type parameter, passed to [`ReadOptions::expressions`].
pub(crate) struct ReadOptions<M> {
    /// The index read, `None` for the table.
    pub(crate) index: Option<&'static IndexSchema>,
    /// Only items matching this, applied by DynamoDB after reading.
    pub(crate) filter: Option<Condition<M>>,
    /// At most this many items in total.
    pub(crate) limit: Option<usize>,
    /// At most this many items per request (DynamoDB's `Limit`), at least 1.
    pub(crate) page_size: Option<u32>,
    /// A strongly consistent read.
    pub(crate) consistent: bool,
    /// Resume after the page that returned this token (a query's: a scan reads each segment
    /// from its beginning).
    pub(crate) start: Option<PageToken>,
}

impl<M> ReadOptions<M> {
    /// The table (or `index`), everything, eventually consistent, from the start.
    pub(crate) fn new(index: Option<&'static IndexSchema>) -> Self {
        Self {
            index,
            filter: None,
            limit: None,
            page_size: None,
            consistent: false,
            start: None,
        }
    }

    /// Sets the page size, at least 1 item.
    pub(crate) fn set_page_size(&mut self, size: u32) {
        self.page_size = Some(size.max(1));
    }

    /// The index name for the request, `None` for the table.
    pub(crate) fn index_name(&self) -> Option<String> {
        self.index.map(|i| i.name.to_owned())
    }

    /// Refuses a strongly consistent read of a global secondary index (DynamoDB cannot serve
    /// one), before any request is sent; reads of the table or a local index pass.
    pub(crate) fn check_consistent_read(&self, table: &str) -> Result<()> {
        match self.index {
            Some(index) if self.consistent && index.kind == IndexKind::Global => {
                Err(Error::InvalidRequest {
                    kind: InvalidRequestKind::ConsistentIndexRead,
                    reason: format!(
                        "global secondary index `{}` of table `{table}` cannot be read with strong consistency",
                        index.name
                    ),
                })
            }
            _ => Ok(()),
        }
    }
}

impl<M: Model> ReadOptions<M> {
    /// The `FilterExpression` and `ProjectionExpression` of a read into `P` of `table`, with
    /// names and values as placeholders of `p`. A count reads no attribute: no projection.
    pub(crate) fn expressions<P: Projection<M>>(
        &self,
        p: &mut Placeholders,
        table: &str,
        count: bool,
    ) -> Result<(Option<String>, Option<String>)> {
        let user = match &self.filter {
            Some(f) => Some(f.render(p).map_err(|(path, error)| Error::InvalidRequest {
                kind: InvalidRequestKind::Expression,
                reason: format!("filter on `{path}` of table `{table}`: {error}"),
            })?),
            None => None,
        };
        // A model sharing its table reads only its own entity type, where the entity
        // attribute is there to filter on (an index that does not project it is left as is).
        let own = M::ENTITY
            .filter(|entity| !P::EVERY_ENTITY && self.projects(entity.attribute))
            .map(|entity| format!("{} = {}", p.name(entity.attribute), p.value(entity.value())));
        let filter = match (own, user) {
            (Some(own), Some(user)) => Some(format!("{own} AND ({user})")),
            (own, user) => own.or(user),
        };
        let projection = if count {
            None
        } else {
            projection_expression::<M, P>(p)
        };
        Ok((filter, projection))
    }
}

impl<M> ReadOptions<M> {
    /// Whether the items read hold `attribute` (the table's do; an index's, if it projects it).
    fn projects(&self, attribute: &str) -> bool {
        use crate::schema::IndexProjection;
        match self.index.map(|i| i.projection) {
            None | Some(IndexProjection::All) => true,
            Some(IndexProjection::KeysOnly) => false,
            Some(IndexProjection::Include(names)) => names.contains(&attribute),
        }
    }
}

/// The `ProjectionExpression` that reads `P`'s attributes (names as placeholders of `p`), or
/// `None` when `P` reads every attribute.
pub(crate) fn projection_expression<M: Model, P: Projection<M>>(
    p: &mut Placeholders,
) -> Option<String> {
    P::ATTRIBUTES.map(|attributes| {
        attributes
            .iter()
            .map(|a| p.name(a))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// How many items of a page [`load`] puts overflow values back in at once.
const INFLATE_CONCURRENCY: usize = 16;

/// The items of a page of `table` read into `P`: their file state remembered (when
/// `remember`: every attribute of the table was read), overflow values put back, and each
/// decoded, or the field that did not decode. A model's items go through `M` in bulk; a
/// collection's each through the model of its entity type.
pub(crate) async fn load<M: Model, P: Projection<M>>(
    client: &Client,
    table: &str,
    mut items: Vec<Item>,
    remember: bool,
) -> Result<Vec<std::result::Result<P, FieldError>>> {
    if !P::EVERY_ENTITY {
        if remember {
            client.memory().remember_all::<M>(table, &items);
        }
        super::inflate_all::<M>(client, table, &mut items).await?;
        let mut decoded: Vec<_> = items.into_iter().map(P::from_item).collect();
        if M::HOOKS.is_some() {
            after_load::<M, P>(client, table, &mut decoded).await?;
        }
        return Ok(decoded);
    }
    let readers: Vec<_> = items.iter().map(P::reader).collect();
    if remember {
        for (item, reader) in items.iter().zip(&readers) {
            if let Ok(reader) = reader {
                (reader.remember)(client, table, item);
            }
        }
    }
    for (items, readers) in items
        .chunks_mut(INFLATE_CONCURRENCY)
        .zip(readers.chunks(INFLATE_CONCURRENCY))
    {
        futures::future::try_join_all(items.iter_mut().zip(readers).filter_map(
            |(item, reader)| Some((reader.as_ref().ok()?.inflate)(client, table, item)),
        ))
        .await?;
    }
    let mut decoded: Vec<_> = items
        .into_iter()
        .zip(readers)
        .map(|(item, reader)| reader.and_then(|reader| (reader.decode)(item)))
        .collect();
    after_load::<M, P>(client, table, &mut decoded).await?;
    Ok(decoded)
}

/// Runs the `after_load` hook of every value decoded (of a model with hooks), one after the
/// other, in order.
async fn after_load<M: Model, P: Projection<M>>(
    client: &Client,
    table: &str,
    decoded: &mut [std::result::Result<P, FieldError>],
) -> Result<()> {
    for value in decoded.iter_mut().flatten() {
        if let Some(hook) = value.after_load(client) {
            hook.await.map_err(|e| {
                crate::hooks::hook_error::<P>("after_load", table, String::new(), e)
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{IndexProjection, KeyAttr, ScalarType};

    const fn index(kind: IndexKind) -> IndexSchema {
        IndexSchema {
            name: "by_status",
            kind,
            hash: KeyAttr {
                name: "status",
                scalar: ScalarType::String,
            },
            range: None,
            projection: IndexProjection::All,
        }
    }
    static GLOBAL: IndexSchema = index(IndexKind::Global);
    static LOCAL: IndexSchema = index(IndexKind::Local);

    fn consistent(index: Option<&'static IndexSchema>) -> ReadOptions<()> {
        let mut options = ReadOptions::new(index);
        options.consistent = true;
        options
    }

    #[test]
    fn a_consistent_read_of_a_global_index_is_refused() {
        let refused = consistent(Some(&GLOBAL)).check_consistent_read("orders");
        assert!(matches!(
            refused,
            Err(Error::InvalidRequest { kind: InvalidRequestKind::ConsistentIndexRead, ref reason })
                if reason.contains("`by_status`") && reason.contains("`orders`")
        ));
        assert!(ReadOptions::<()>::new(Some(&GLOBAL))
            .check_consistent_read("orders")
            .is_ok());
    }

    #[test]
    fn consistent_reads_of_the_table_or_a_local_index_pass() {
        assert!(consistent(None).check_consistent_read("orders").is_ok());
        assert!(consistent(Some(&LOCAL))
            .check_consistent_read("orders")
            .is_ok());
    }

    #[test]
    fn the_page_size_is_at_least_one() {
        let mut options = ReadOptions::<()>::new(None);
        options.set_page_size(0);
        assert_eq!(options.page_size, Some(1));
    }
}
