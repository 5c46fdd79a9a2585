//! `scan` (Scan): every item of a model's table, optionally filtered, in parallel segments
//! merged into one stream.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use super::read::ReadOptions;
use super::Traced;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::error::Result;
use crate::expr::{Condition, Placeholders};
use crate::item::Item;
use crate::model::Model;
use crate::projection::Projection;
use crate::schema::IndexSchema;
use crate::Client;

/// A Scan of a model's table: [`Client::scan`] or `Model::scan(&client)` (or of one of its
/// indexes: [`Index::scan`](crate::Index::scan)). Items decode into `P`: the model, or a
/// partial type chosen with [`Scan::project`].
///
/// ```no_run
/// # use dynox_core::{Client, DynamoModel};
/// # use futures::TryStreamExt;
/// #[derive(DynamoModel)]
/// #[dynamo(table = "orders")]
/// struct Order { #[dynamo(hash_key)] customer: String, total_cents: i64 }
/// # async fn demo(client: &Client) -> dynox_core::Result<()> {
/// let big: Vec<Order> = Order::scan(client)
///     .filter(Order::fields().total_cents.gt(10_000))
///     .segments(4)
///     .await?;
/// let how_many = Order::scan(client).count().await?;
/// # Ok(()) }
/// ```
#[must_use = "a scan does nothing until consumed"]
pub struct Scan<M: Model, P = M> {
    client: Client,
    /// The index, filter, limits and consistency.
    options: ReadOptions<M>,
    segments: u32,
    marker: PhantomData<fn() -> P>,
}

impl<M: Model> Scan<M> {
    pub(crate) fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
            options: ReadOptions::new(None),
            segments: 1,
            marker: PhantomData,
        }
    }

    pub(crate) fn on_index(client: &Client, index: &'static IndexSchema) -> Self {
        let mut scan = Self::new(client);
        scan.options.index = Some(index);
        scan
    }
}

impl<M: Model, P: Projection<M>> Scan<M, P> {
    /// Reads only the attributes of partial type `Q` (`ProjectionExpression`) and decodes
    /// items into it.
    pub fn project<Q: Projection<M>>(self) -> Scan<M, Q> {
        Scan {
            client: self.client,
            options: self.options,
            segments: self.segments,
            marker: PhantomData,
        }
    }

    /// Only items matching `condition` (applied by DynamoDB after reading: it saves transfer,
    /// not read capacity).
    pub fn filter(mut self, condition: Condition<M>) -> Self {
        self.options.filter = Some(condition);
        self
    }

    /// Scan in `n` parallel segments, merged into one stream (in no particular order).
    pub fn segments(mut self, n: u32) -> Self {
        self.segments = n.clamp(1, 1_000_000);
        self
    }

    /// Stop after `limit` items in total.
    pub fn limit(mut self, limit: usize) -> Self {
        self.options.limit = Some(limit);
        self
    }

    /// Items read per request (DynamoDB's `Limit`, counted before the filter).
    pub fn page_size(mut self, size: u32) -> Self {
        self.options.set_page_size(size);
        self
    }

    /// Read with strong consistency. Global secondary indexes cannot be read consistently:
    /// such a scan fails with [`Error::InvalidRequest`](crate::Error::InvalidRequest) before any request is sent.
    pub fn consistent_read(mut self, consistent: bool) -> Self {
        self.options.consistent = consistent;
        self
    }

    /// The items, as a stream.
    pub fn stream(self) -> BoxStream<'static, Result<P>> {
        let limit = self.options.limit;
        let segments = self.segments;
        let merged = stream::select_all(
            (0..segments).map(|segment| self.segment_pages(segment, false).boxed()),
        )
        .map_ok(|(items, _)| stream::iter(items.into_iter().map(Ok)))
        .try_flatten();
        match limit {
            Some(n) => merged.take(n).boxed(),
            None => merged.boxed(),
        }
    }

    /// Every item, in one `Vec` (what awaiting the scan does).
    pub async fn all(self) -> Result<Vec<P>> {
        self.stream().try_collect().await
    }

    /// The number of matching items (`Select: COUNT`: no item is transferred).
    pub async fn count(self) -> Result<u64> {
        let segments = self.segments;
        let counts: Vec<u64> = stream::select_all(
            (0..segments).map(|segment| self.segment_pages(segment, true).boxed()),
        )
        .map_ok(|(_, count)| count)
        .try_collect()
        .await?;
        Ok(counts.into_iter().sum())
    }

    /// The pages of one segment: its items (none when counting) and the page's count.
    fn segment_pages(
        &self,
        segment: u32,
        count: bool,
    ) -> impl futures::Stream<Item = Result<(Vec<P>, u64)>> + Send + 'static {
        let client = self.client.clone();
        let table = client.table_name::<M>();
        let mut p = Placeholders::default();
        // A refused read or a bad filter fails the segment's first page.
        let (filter, projection) = match self
            .options
            .check_consistent_read(&table)
            .and_then(|()| self.options.expressions::<P>(&mut p, &table, count))
        {
            Ok((filter, projection)) => (filter.map(Ok), projection),
            Err(e) => (Some(Err(e)), None),
        };
        let index = self.options.index_name();
        let whole_items = P::ATTRIBUTES.is_none() && index.is_none();
        let (names, values) = p.into_maps();
        let segments = self.segments;
        let page_size = self.options.page_size;
        let consistent = self.options.consistent;
        stream::try_unfold((Some(None::<Item>), filter), move |(start, filter)| {
            let client = client.clone();
            let table = table.clone();
            let (names, values) = (names.clone(), values.clone());
            let (index, projection) = (index.clone(), projection.clone());
            async move {
                let Some(start) = start else { return Ok(None) };
                let filter = match filter {
                    Some(Ok(f)) => Some(f),
                    Some(Err(e)) => return Err(e),
                    None => None,
                };
                let mut request = client
                    .dynamodb()
                    .scan()
                    .table_name(&table)
                    .set_index_name(index)
                    .set_projection_expression(projection)
                    .set_filter_expression(filter.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .consistent_read(consistent)
                    .set_limit(page_size.map(|s| s.min(i32::MAX as u32) as i32))
                    .set_exclusive_start_key(start);
                if segments > 1 {
                    request = request
                        .segment(segment as i32)
                        .total_segments(segments as i32);
                }
                if count {
                    request = request.select(aws_sdk_dynamodb::types::Select::Count);
                }
                let output = request
                    .set_return_consumed_capacity(client.capacity())
                    .send()
                    .traced(super::span("Scan", &table), &client)
                    .await
                    .map_err(|e| super::sdk_error(e, "Scan", &table, String::new))?;
                let items = output.items.unwrap_or_default();
                let items = super::read::load::<M, P>(&client, &table, items, whole_items)
                    .await?
                    .into_iter()
                    .map(|item| item.map_err(|e| super::field_error(&table, String::new(), e)))
                    .collect::<Result<Vec<P>>>()?;
                let next = output.last_evaluated_key.filter(|k| !k.is_empty());
                let page = (items, output.count.max(0) as u64);
                Ok(Some((page, (next.map(Some), filter.map(Ok)))))
            }
        })
    }
}

impl<M: Model, P: Projection<M>> IntoFuture for Scan<M, P> {
    type Output = Result<Vec<P>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Vec<P>>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.all())
    }
}
