//! `query` by hash key with a typed sort-key condition, as a stream of items or pages.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::expr::{Condition, Placeholders, SortKey, SortKeyValues};
use crate::item::{AttributeError, Item};
use crate::model::{KeyAttribute, Model};
use crate::page::{Page, PageToken};
use crate::Client;

/// A Query on a model's table: [`Client::query`], or `Model::query(&client, hash)` from the
/// derive. Consume it as a stream of items ([`Query::stream`]), of pages ([`Query::pages`]),
/// one page ([`Query::page`]) or everything at once (await it, or [`Query::all`]).
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
pub struct Query<M: Model> {
    client: Client,
    hash: M::HashKey,
    sort: Option<std::result::Result<SortKeyValues, AttributeError>>,
    filter: Option<Condition<M>>,
    descending: bool,
    limit: Option<usize>,
    page_size: Option<u32>,
    consistent: bool,
    start: Option<PageToken>,
}

impl<M: Model> Query<M> {
    pub(crate) fn new(client: &Client, hash: M::HashKey) -> Self {
        Self {
            client: client.clone(),
            hash,
            sort: None,
            filter: None,
            descending: false,
            limit: None,
            page_size: None,
            consistent: false,
            start: None,
        }
    }

    /// Only items matching `condition` (applied by DynamoDB after the key condition: it
    /// saves transfer, not read capacity).
    pub fn filter(mut self, condition: Condition<M>) -> Self {
        self.filter = Some(condition);
        self
    }

    /// Newest (highest sort key) first; ascending by default.
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// Stop after `limit` items in total, over all pages.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// At most `size` items per request (DynamoDB's `Limit`); the service's 1 MB page
    /// limit applies too.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size.max(1));
        self
    }

    /// Read with strong consistency (eventually consistent by default).
    pub fn consistent_read(mut self, consistent: bool) -> Self {
        self.consistent = consistent;
        self
    }

    /// Resume after the page that returned `token`.
    pub fn start_from(mut self, token: PageToken) -> Self {
        self.start = Some(token);
        self
    }

    /// The items, fetched page by page as the stream is polled.
    pub fn stream(self) -> BoxStream<'static, Result<M>> {
        self.pages()
            .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// The pages, fetched one by one as the stream is polled. Each carries the token that
    /// resumes after it.
    pub fn pages(self) -> BoxStream<'static, Result<Page<M>>> {
        let start = self.start.clone().map(PageToken::into_item);
        let remaining = self.limit;
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
    pub async fn page(self) -> Result<Page<M>> {
        let start = self.start.clone().map(PageToken::into_item);
        let (items, last) = self.fetch(start, self.limit).await?;
        Ok(Page {
            items,
            next: last.and_then(PageToken::from_item),
        })
    }

    /// The number of matching items (`Select: COUNT`, over every page; no item is
    /// transferred).
    pub async fn count(self) -> Result<u64> {
        let mut total = 0u64;
        let mut start = self.start.clone().map(PageToken::into_item);
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
    pub async fn all(self) -> Result<Vec<M>> {
        self.stream().try_collect().await
    }

    async fn fetch(
        &self,
        start: Option<Item>,
        remaining: Option<usize>,
    ) -> Result<(Vec<M>, Option<Item>)> {
        let table = self.client.table_name::<M>();
        let describe = || format!("{} = {:?}", M::SCHEMA.hash.name, self.hash);
        let output = self.request(start, remaining, false).await?;
        let items = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| M::from_item(item).map_err(|e| super::field_error(&table, describe(), e)))
            .collect::<Result<Vec<M>>>()?;
        Ok((items, output.last_evaluated_key))
    }

    async fn request(
        &self,
        start: Option<Item>,
        remaining: Option<usize>,
        count: bool,
    ) -> Result<aws_sdk_dynamodb::operation::query::QueryOutput> {
        let table = self.client.table_name::<M>();
        let describe = || format!("{} = {:?}", M::SCHEMA.hash.name, self.hash);
        let span = super::span("Query", &table);
        let hash = self
            .hash
            .to_key_attribute()
            .map_err(|source| Error::InvalidField {
                table: table.clone(),
                key: describe(),
                field: M::SCHEMA.hash.name,
                source,
            })?;
        let mut p = Placeholders::default();
        let mut expression = format!("{} = {}", p.name(M::SCHEMA.hash.name), p.value(hash));
        if let (Some(sort), Some(range)) = (&self.sort, M::SCHEMA.range) {
            let values = sort.clone().map_err(|source| Error::InvalidField {
                table: table.clone(),
                key: describe(),
                field: range.name,
                source,
            })?;
            values.write(range.name, &mut p, &mut expression);
        }
        let filter = match &self.filter {
            Some(f) => Some(
                f.render(&mut p)
                    .map_err(|(path, error)| Error::InvalidRequest {
                        reason: format!("filter on `{path}` of table `{table}`: {error}"),
                    })?,
            ),
            None => None,
        };
        let (names, values) = p.into_maps();
        let limit = match (self.page_size, remaining) {
            (Some(size), Some(r)) => Some((size as usize).min(r)),
            (Some(size), None) => Some(size as usize),
            (None, r) => r,
        };
        let mut request = self
            .client
            .dynamodb()
            .query()
            .table_name(&table)
            .key_condition_expression(expression)
            .set_filter_expression(filter)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .scan_index_forward(!self.descending)
            .consistent_read(self.consistent)
            .set_limit(limit.map(|l| l.min(i32::MAX as usize) as i32))
            .set_exclusive_start_key(start);
        if count {
            request = request.select(aws_sdk_dynamodb::types::Select::Count);
        }
        request
            .send()
            .instrument(span)
            .await
            .map_err(|e| super::sdk_error(e, "Query", &table, describe))
    }
}

impl<M: Model> Query<M>
where
    M::RangeKey: KeyAttribute,
{
    /// Only items whose sort key matches `condition`.
    pub fn sort_key(mut self, condition: SortKey<M::RangeKey>) -> Self {
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

impl<M: Model> IntoFuture for Query<M> {
    type Output = Result<Vec<M>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Vec<M>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.all())
    }
}
