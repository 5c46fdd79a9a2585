//! The models one sweep or stream cascade looks after: one model, or the models of a single
//! table (a tuple, `(Invoice, Order)`), each item handled by the model of its entity type.
//!
//! In a single-table design every entity type with file fields keeps them in the shared
//! table. One sweep of the tuple scans the table once for every model's references and lists
//! every model's prefixes once; one cascade of the tuple sends each stream record to the model
//! whose entity type the item records. Objects are owned per entity type (`dynox-owner` names
//! the table, the entity type and the field), so a sweep or cascade of some of the table's
//! models never takes another model's objects for its own.

use crate::store::S3Model;

/// One model with file fields, or a tuple of up to 8 that share a table: what
/// [`sweep`](crate::sweep()) and [`cascade`](crate::cascade()) take.
///
/// ```no_run
/// # use dynox_core::DynamoModel;
/// # use dynox_s3::S3Object;
/// # #[derive(DynamoModel)]
/// # #[dynamo(table = "shop", entity = "Invoice", pk = "CUSTOMER#{c}", sk = "INVOICE#{n}")]
/// # struct Invoice { c: String, n: u32, #[s3(bucket = "docs", prefix = "pdf/")] pdf: S3Object }
/// # #[derive(DynamoModel)]
/// # #[dynamo(table = "shop", entity = "Return", pk = "CUSTOMER#{c}", sk = "RETURN#{n}")]
/// # struct Return { c: String, n: u32, #[s3(bucket = "docs", prefix = "photos/")] photo: S3Object }
/// # async fn demo(client: &dynox_core::Client) -> dynox_core::Result<()> {
/// // One scan of the shared table, both models' prefixes.
/// let report = dynox_s3::sweep::<(Invoice, Return)>(client).await?;
/// # Ok(()) }
/// ```
pub trait FileModels: Send + Sync + 'static {
    /// The first model: its table is the one read.
    type Table: S3Model;

    /// Calls `visitor` with each model, in order.
    #[doc(hidden)]
    fn visit<V: Visit>(visitor: &mut V);
}

/// What is done with each model of a [`FileModels`] (dynox-s3's own steps).
#[doc(hidden)]
pub trait Visit {
    /// Model `M`'s turn.
    fn model<M: S3Model>(&mut self);
}

impl<M: S3Model> FileModels for M {
    type Table = M;

    fn visit<V: Visit>(visitor: &mut V) {
        visitor.model::<M>();
    }
}

macro_rules! tuple_file_models {
    ($first:ident $(, $rest:ident)*) => {
        impl<$first: S3Model $(, $rest: S3Model)*> FileModels for ($first, $($rest,)*) {
            type Table = $first;

            fn visit<V: Visit>(visitor: &mut V) {
                visitor.model::<$first>();
                $(visitor.model::<$rest>();)*
            }
        }
    };
}

tuple_file_models!(A);
tuple_file_models!(A, B);
tuple_file_models!(A, B, C);
tuple_file_models!(A, B, C, D);
tuple_file_models!(A, B, C, D, E);
tuple_file_models!(A, B, C, D, E, F);
tuple_file_models!(A, B, C, D, E, F, G);
tuple_file_models!(A, B, C, D, E, F, G, H);

/// Why the models of `T` cannot be swept or cascaded together: not one table, or several
/// models of which one declares no entity type (its items could not be told apart).
pub(crate) fn check<T: FileModels>() -> Result<(), String> {
    struct Check {
        table: Option<&'static str>,
        models: usize,
        problem: Option<String>,
        untyped: Option<&'static str>,
    }
    impl Visit for Check {
        fn model<M: S3Model>(&mut self) {
            self.models += 1;
            let name = std::any::type_name::<M>();
            match self.table {
                None => self.table = Some(M::TABLE),
                Some(table) if table != M::TABLE && self.problem.is_none() => {
                    self.problem = Some(format!(
                        "`{name}` is stored in table `{}`, not `{table}`: the models swept or cascaded together share one table",
                        M::TABLE
                    ));
                }
                Some(_) => {}
            }
            if M::ENTITY.is_none() && self.untyped.is_none() {
                self.untyped = Some(name);
            }
        }
    }
    let mut check = Check {
        table: None,
        models: 0,
        problem: None,
        untyped: None,
    };
    T::visit(&mut check);
    if let Some(problem) = check.problem {
        return Err(problem);
    }
    match check.untyped {
        Some(name) if check.models > 1 => Err(format!(
            "`{name}` declares no entity type: models swept or cascaded together need `#[dynamo(entity = \"...\")]`, which tells their items apart"
        )),
        _ => Ok(()),
    }
}
