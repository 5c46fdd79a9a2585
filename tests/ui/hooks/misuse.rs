use dynox_core::{DynamoModel, DynamoProjection};

// `hooks` without an implementation of `Hooks`.
#[derive(DynamoModel)]
#[dynamo(table = "articles", hooks)]
struct Article {
    #[dynamo(hash_key)]
    slug: String,
    title: String,
}

// `hooks` takes no value.
#[derive(DynamoModel)]
#[dynamo(table = "notes", hooks = true)]
struct Note {
    #[dynamo(hash_key)]
    id: String,
}

// Hooks belong on the model.
#[derive(DynamoProjection)]
#[dynamo(model = Article, hooks)]
struct Title {
    title: String,
}

fn main() {}
