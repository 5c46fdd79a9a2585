//! `query` by hash key with a typed sort-key condition, as a stream of items or pages.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use super::read::ReadOptions;
use super::Traced;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::collection::Partition;
use crate::error::{Error, InvalidRequestKind, Result};
use crate::expr::{Condition, Placeholders, SortKey, SortKeyValues};
use crate::item::{AttributeError, Item};
use crate::model::{FieldError, KeyAttribute, Model};
use crate::page::{Page, PageToken};
use crate::projection::Projection;
use crate::schema::IndexProjection;
use crate::Client;

/// A Query on a model's table: [`Client::query`], or `Model::query(&client, hash)` from the
/// derive. Consume it as a stream of items ([`Query::stream`]), of pages ([`Query::pages`]),
/// one page ([`Query::page`]) or everything at once (await it, or [`Query::all`]).
///
/// `R` is the sort key the query can filter on (the table's, or an index's: see
/// [`Index::query`](crate::Index::query)); `P` is what items decode into (`M`, or a partial
/// type chosen with [`Query::project`]).
///
/// ```no_run
/// # use dynox_core::{Client, DynamoModel, SortKey};
/// # use futures::TryStreamExt;
/// #[derive(DynamoModel)]
/// #[dynamo(table = "orders")]
/// struct Order {
///     #[dynamo(hash_key)] customer: String,
///     #[dynamo(range_key)] order_id: u64,
/// }
/// # async fn demo(client: &Client) -> dynox_core::Result<()> {
/// let recent: Vec<Order> = Order::query(client, "cust-1")
///     .sort_key(SortKey::gt(100))
///     .descending()
///     .limit(10)
///     .stream()
///     .try_collect()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a query does nothing until consumed"]
pub struct Query<M: Model, R = <M as Model>::RangeKey, P = M> {
    client: Client,
    /// The index, filter, limits, consistency and start.
    options: ReadOptions<M>,
    /// The hash key (and the index) queried.
    partition: Partition<M, R>,
    sort: Option<std::result::Result<SortKeyValues, AttributeError>>,
    descending: bool,
    marker: PhantomData<fn() -> P>,
}

impl<M: Model> Query<M> {
    pub(crate) fn new(client: &Client, hash: M::HashKey) -> Self {
        Self::from_partition(client, Partition::of(hash))
    }
}

impl<M: Model, R, P> Query<M, R, P> {
    /// The query of every item of `partition`.
    pub(crate) fn from_partition(client: &Client, partition: Partition<M, R>) -> Self {
        Self {
            client: client.clone(),
            options: ReadOptions::new(partition.index),
            partition,
            sort: None,
            descending: false,
            marker: PhantomData,
        }
    }
}

impl<M: Model, R: 'static, P: Projection<M>> Query<M, R, P> {
    /// Reads only the attributes of partial type `Q` (`ProjectionExpression`) and decodes
    /// items into it.
    pub fn project<Q: Projection<M>>(self) -> Query<M, R, Q> {
        Query {
            client: self.client,
            options: self.options,
            partition: self.partition,
            sort: self.sort,
            descending: self.descending,
            marker: PhantomData,
        }
    }

    /// Only items matching `condition` (applied by DynamoDB after the key condition: it
    /// saves transfer, not read capacity).
    pub fn filter(mut self, condition: Condition<M>) -> Self {
        self.options.filter = Some(condition);
        self
    }

    /// Newest (highest sort key) first; ascending by default.
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// Stop after `limit` items in total, over all pages.
    pub fn limit(mut self, limit: usize) -> Self {
        self.options.limit = Some(limit);
        self
    }

    /// At most `size` items per request (DynamoDB's `Limit`); the service's 1 MB page
    /// limit applies too.
    pub fn page_size(mut self, size: u32) -> Self {
        self.options.set_page_size(size);
        self
    }

    /// Read with strong consistency (eventually consistent by default). Global secondary
    /// indexes cannot be read consistently: such a query fails with
    /// [`Error::InvalidRequest`] before any request is sent.
    pub fn consistent_read(mut self, consistent: bool) -> Self {
        self.options.consistent = consistent;
        self
    }

    /// Resume after the page that returned `token`.
    pub fn start_from(mut self, token: PageToken) -> Self {
        self.options.start = Some(token);
        self
    }

    /// The items, fetched page by page as the stream is polled.
    pub fn stream(self) -> BoxStream<'static, Result<P>> {
        self.pages()
            .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// The pages, fetched one by one as the stream is polled. Each carries the token that
    /// resumes after it.
    pub fn pages(self) -> BoxStream<'static, Result<Page<P>>> {
        let start = self.options.start.clone().map(PageToken::into_item);
        let remaining = self.options.limit;
        let first = State::Next {
            start,
            remaining,
            first: true,
        };
        stream::try_unfold((self, first), |(query, state)| async move {
            let State::Next {
                start,
                remaining,
                first,
            } = state
            else {
                return Ok(None);
            };
            if remaining == Some(0) || (!first && start.is_none()) {
                return Ok(None);
            }
            let (items, last) = query.fetch(start, remaining).await?;
            let remaining = remaining.map(|r| r.saturating_sub(items.len()));
            let next = match &last {
                Some(key) if remaining != Some(0) => State::Next {
                    start: Some(key.clone()),
                    remaining,
                    first: false,
                },
                _ => State::Done,
            };
            let page = Page {
                items,
                next: last.and_then(PageToken::from_item),
            };
            Ok(Some((page, (query, next))))
        })
        .boxed()
    }

    /// One page: at most [`page_size`](Self::page_size) (and [`limit`](Self::limit)) items,
    /// and the token for the next page.
    pub async fn page(self) -> Result<Page<P>> {
        let start = self.options.start.clone().map(PageToken::into_item);
        let (items, last) = self.fetch(start, self.options.limit).await?;
        Ok(Page {
            items,
            next: last.and_then(PageToken::from_item),
        })
    }

    /// The number of matching items (`Select: COUNT`, over every page; no item is
    /// transferred).
    pub async fn count(self) -> Result<u64> {
        let mut total = 0u64;
        let mut start = self.options.start.clone().map(PageToken::into_item);
        loop {
            let (count, last) = self.fetch_count(start).await?;
            total += count;
            match last {
                Some(last) => start = Some(last),
                None => return Ok(total),
            }
        }
    }

    async fn fetch_count(&self, start: Option<Item>) -> Result<(u64, Option<Item>)> {
        let output = self.request(start, None, true).await?;
        Ok((
            output.count.max(0) as u64,
            output.last_evaluated_key.filter(|k| !k.is_empty()),
        ))
    }

    /// Every item, in one `Vec`.
    pub async fn all(self) -> Result<Vec<P>> {
        self.stream().try_collect().await
    }

    async fn fetch(
        &self,
        start: Option<Item>,
        remaining: Option<usize>,
    ) -> Result<(Vec<P>, Option<Item>)> {
        let table = self.client.table_name::<M>();
        let mut output = self.request(start, remaining, false).await?;
        let items = output.items.take().unwrap_or_default();
        let remember = P::ATTRIBUTES.is_none() && self.options.index.is_none();
        let items = super::read::load::<M, P>(&self.client, &table, items, remember)
            .await?
            .into_iter()
            .map(|item| item.map_err(|e| self.decode_error(&table, e)))
            .collect::<Result<Vec<P>>>()?;
        Ok((items, output.last_evaluated_key))
    }

    /// `hash = "value"` (and the index): the items queried, for errors.
    fn describe(&self) -> String {
        self.partition.describe()
    }

    /// A field that did not decode; on an index that leaves it out, says so.
    fn decode_error(&self, table: &str, e: FieldError) -> Error {
        if let (Some(index), None, AttributeError::Missing) =
            (self.options.index, P::ATTRIBUTES, &e.error)
        {
            if index.projection != IndexProjection::All {
                return Error::InvalidRequest {
                    kind: InvalidRequestKind::IndexProjection,
                    reason: format!(
                        "index `{}` of table `{table}` does not project attribute `{}`: read it into a partial type of the projected attributes with `.project::<T>()`",
                        index.name, e.field
                    ),
                };
            }
        }
        super::field_error(table, self.describe(), e)
    }

    async fn request(
        &self,
        start: Option<Item>,
        remaining: Option<usize>,
        count: bool,
    ) -> Result<aws_sdk_dynamodb::operation::query::QueryOutput> {
        let table = self.client.table_name::<M>();
        let describe = || self.describe();
        let span = super::span("Query", &table);
        self.options.check_consistent_read(&table)?;
        let partition = &self.partition;
        let hash = partition
            .hash
            .clone()
            .map_err(|source| Error::InvalidField {
                table: table.clone(),
                key: describe(),
                field: partition.hash_name,
                source,
            })?;
        let mut p = Placeholders::default();
        let mut expression = format!("{} = {}", p.name(partition.hash_name), p.value(hash));
        if let (Some(sort), Some(range)) = (&self.sort, partition.range_name) {
            let values = sort.clone().map_err(|source| Error::InvalidField {
                table: table.clone(),
                key: describe(),
                field: range,
                source,
            })?;
            values.write(range, &mut p, &mut expression);
        }
        let (filter, projection) = self.options.expressions::<P>(&mut p, &table, count)?;
        let (names, values) = p.into_maps();
        let limit = match (self.options.page_size, remaining) {
            (Some(size), Some(r)) => Some((size as usize).min(r)),
            (Some(size), None) => Some(size as usize),
            (None, r) => r,
        };
        let mut request = self
            .client
            .dynamodb()
            .query()
            .table_name(&table)
            .set_index_name(self.options.index_name())
            .key_condition_expression(expression)
            .set_projection_expression(projection)
            .set_filter_expression(filter)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .scan_index_forward(!self.descending)
            .consistent_read(self.options.consistent)
            .set_limit(limit.map(|l| l.min(i32::MAX as usize) as i32))
            .set_exclusive_start_key(start);
        if count {
            request = request.select(aws_sdk_dynamodb::types::Select::Count);
        }
        request
            .set_return_consumed_capacity(self.client.capacity())
            .send()
            .traced(span, &self.client)
            .await
            .map_err(|e| super::sdk_error(e, "Query", &table, describe))
    }
}

impl<M: Model, R: KeyAttribute, P> Query<M, R, P> {
    /// Only items whose sort key (the table's, or the index's) matches `condition`.
    pub fn sort_key(mut self, condition: SortKey<R>) -> Self {
        self.sort = Some(condition.to_values());
        self
    }
}

enum State {
    Next {
        start: Option<Item>,
        remaining: Option<usize>,
        first: bool,
    },
    Done,
}

impl<M: Model, R: 'static, P: Projection<M>> IntoFuture for Query<M, R, P> {
    type Output = Result<Vec<P>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Vec<P>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.all())
    }
}
