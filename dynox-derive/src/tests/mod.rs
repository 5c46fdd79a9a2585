//! The prettyprinted expansion of representative models, as reviewed snapshots (as
//! diesel_derives' `src/tests/`): a change to the generated code shows up as a diff of
//! `snapshots/*.snap`, and so does its growth. Review with `cargo insta review`, or accept with
//! `INSTA_UPDATE=always cargo test -p dynox-derive`.

use proc_macro2::TokenStream;
use quote::quote;

/// `tokens` formatted as a Rust file.
fn pretty(tokens: TokenStream) -> String {
    let file = syn::parse2(tokens).expect("the expansion parses as a file");
    prettyplease::unparse(&file)
}

/// A model with only a hash key, a rename, an optional field and a serde field.
#[test]
fn plain_model() {
    let expanded = crate::dynamo_model(quote! {
        #[dynamo(table = "users")]
        pub struct User {
            #[dynamo(hash_key)]
            pub id: String,
            #[dynamo(rename = "mail")]
            pub email: Option<String>,
            pub tags: Vec<String>,
        }
    });
    insta::assert_snapshot!(pretty(expanded));
}

/// A model with a range key, two files (one optional, compressed), a global index and a
/// version.
#[test]
fn model_with_files_index_and_version() {
    let expanded = crate::dynamo_model(quote! {
        #[dynamo(
            table = "documents",
            global_index(name = "by-owner", hash_key = owner, range_key = created, projection = "keys_only")
        )]
        pub struct Document {
            #[dynamo(hash_key)]
            pub id: String,
            #[dynamo(range_key)]
            pub revision: u32,
            pub owner: String,
            pub created: u64,
            #[s3(bucket = "docs", prefix = "bodies/")]
            pub body: S3Object,
            #[s3(bucket = "docs", compress = "zstd")]
            pub thumbnail: Option<S3Object>,
            #[dynamo(version)]
            pub version: u64,
        }
    });
    insta::assert_snapshot!(pretty(expanded));
}

/// A single-table model: key templates for the table and a global index, an entity type.
#[test]
fn templated_model() {
    let expanded = crate::dynamo_model(quote! {
        #[dynamo(table = "shop", entity = "Order")]
        #[dynamo(pk = "CUSTOMER#{customer_id}", sk = "ORDER#{placed_at}#{order_id}")]
        #[dynamo(global_index(name = "gsi1", pk = "STATUS#{status}", sk = "{placed_at}"))]
        pub struct Order {
            pub customer_id: String,
            pub order_id: String,
            pub placed_at: u64,
            pub status: Option<String>,
        }
    });
    insta::assert_snapshot!(pretty(expanded));
}

/// A collection: dispatch by entity type, one raw variant for types it does not list, and the
/// constant checks of its models.
#[test]
fn collection() {
    let expanded = crate::dynamo_collection(quote! {
        pub enum CustomerItems {
            Customer(Customer),
            Order(Order),
            #[dynamo(other)]
            Other(dynox::item::Item),
        }
    });
    insta::assert_snapshot!(pretty(expanded));
}

/// An invalid model: the error, and the stub that keeps its uses free of secondary errors.
#[test]
fn invalid_model_stub() {
    let expanded = crate::dynamo_model(quote! {
        #[dynamo(table = "documents")]
        pub struct Document {
            #[dynamo(hash_key)]
            pub id: String,
            #[dynamo(primary)]
            pub title: String,
            #[s3(bucket = "docs")]
            pub body: S3Object,
        }
    });
    insta::assert_snapshot!(pretty(expanded));
}

/// A projection: its attribute list and decoding through the model's field readers.
#[test]
fn projection() {
    let expanded = crate::dynamo_projection(quote! {
        #[dynamo(model = Order)]
        pub struct OrderStatus {
            pub order_id: u64,
            pub status: String,
        }
    });
    insta::assert_snapshot!(pretty(expanded));
}

/// An index name that is a Rust keyword is refused: its handle `indexes().type` would not
/// parse. The error comes with a stub, which leaves that handle out.
#[test]
fn keyword_index_name() {
    let expanded = crate::dynamo_model(quote! {
        #[dynamo(table = "documents", global_index(name = "type", hash_key = owner))]
        pub struct Document {
            #[dynamo(hash_key)]
            pub id: String,
            pub owner: String,
        }
    });
    let file = pretty(expanded);
    assert!(
        file.contains("index name `type` is a Rust keyword"),
        "{file}"
    );
    assert!(file.contains("pub struct DocumentIndexes {}"), "{file}");
}
