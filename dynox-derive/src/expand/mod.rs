//! Code generation: one file per generated piece.
//!
//! Generated code names everything through the runtime's hidden modules ([`private`],
//! [`s3_private`]: `::dynox::__private::{core, s3}`, see [`Root`]) and prefixes its locals
//! with `__`; the logic lives in generic runtime functions, so each model adds little code.
//! Trait impls sit inside one `const _: () = { ... };` ([`dummy`]). Only two types enter the
//! user's namespace: `{Model}Fields` and `{Model}Indexes`, what `fields()` and `indexes()`
//! return, kept at module level so that rustdoc documents their members (the paths and index
//! handles a user writes) and a user can name them. Inherent functions (`get`, `fields`, the
//! hidden field readers) are associated items of the model, not names of the module.
//!
//! On invalid input the errors come with a stub of the same impls ([`Mode::Stub`], as
//! thiserror's `fallback.rs`): uses of the model still type-check, so the user reads the
//! attribute errors rather than a cascade of "`Model` is not implemented" at every use.

pub mod collection;
mod constructor;
mod dummy;
mod fields;
mod files;
mod indexes;
mod methods;
mod model_impl;
pub mod projection;
mod readers;

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::Model;
use crate::check;
use crate::ctxt::Ctxt;

/// Whether the code is the real expansion, or the stub emitted next to errors.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The model is valid: the real code.
    Full,
    /// The model has errors: the same items and types with `unreachable!()` bodies and no
    /// trait bounds the errors could break, so only the errors are reported.
    Stub,
}

impl Mode {
    /// `body`, or `unreachable!()` for a stub.
    fn body(self, body: TokenStream) -> TokenStream {
        match self {
            Mode::Full => body,
            Mode::Stub => unreachable(),
        }
    }
}

/// The body of a stub function: never run, since the crate does not compile.
fn unreachable() -> TokenStream {
    quote!(::core::unreachable!())
}

/// Where generated code finds the runtime, chosen once per derive ([`Root::of`]).
enum Root {
    /// The `dynox` crate, at this path: `{path}::__private::core` and `{path}::__private::s3`.
    Facade(syn::Path),
    /// `dynox-core` and `dynox-s3` themselves (the workspace's own crates and tests, and
    /// users who depend on them directly).
    Crates,
}

impl Root {
    /// `#[dynamo(crate = "...")]` when given; else `dynox` under the name the crate being
    /// compiled depends on it by (found in its Cargo.toml, renames included); else the
    /// `dynox-core` and `dynox-s3` crates.
    fn of(krate: Option<&syn::Path>) -> Root {
        use proc_macro_crate::{crate_name, FoundCrate};
        if let Some(path) = krate {
            return Root::Facade(path.clone());
        }
        match crate_name("dynox") {
            // The facade's own doctests and tests: `extern crate self as dynox` makes
            // `::dynox` resolve inside it too.
            Ok(FoundCrate::Itself) => Root::Facade(syn::parse_quote!(::dynox)),
            Ok(FoundCrate::Name(name)) => {
                let ident = syn::Ident::new(&name, proc_macro2::Span::call_site());
                Root::Facade(syn::parse_quote!(::#ident))
            }
            Err(_) => Root::Crates,
        }
    }
}

thread_local! {
    /// The [`Root`] of the derive being expanded (a proc macro expands one item at a time
    /// on its thread).
    static ROOT: std::cell::RefCell<Root> = const { std::cell::RefCell::new(Root::Crates) };
}

/// Chooses where the code of the derive being expanded finds the runtime.
fn set_root(krate: Option<&syn::Path>) {
    let root = Root::of(krate);
    ROOT.with(|r| *r.borrow_mut() = root);
}

/// The path of dynox-core's runtime module for generated code.
fn private() -> TokenStream {
    ROOT.with(|root| match &*root.borrow() {
        Root::Facade(path) => quote!(#path::__private::core),
        Root::Crates => quote!(::dynox_core::__private),
    })
}

/// The `dynox` crate's path, when generated code reaches the runtime through it.
fn facade() -> Option<syn::Path> {
    ROOT.with(|root| match &*root.borrow() {
        Root::Facade(path) => Some(path.clone()),
        Root::Crates => None,
    })
}

/// `generated` (the `#[s3]` parts of a model), wrapped for the facade so that without its
/// `s3` feature they are one clear error.
fn s3_gated(generated: TokenStream) -> TokenStream {
    match facade() {
        Some(path) => quote!(#path::__private::s3_fields! { #generated }),
        None => generated,
    }
}

/// The `Files` type of a model with files.
fn s3_files_type() -> TokenStream {
    match facade() {
        Some(path) => quote!(#path::__private::files_type!(Self)),
        None => {
            let s3 = s3_private();
            quote!(#s3::S3Files<Self>)
        }
    }
}

/// The path of dynox-s3's runtime module, for models with files.
fn s3_private() -> TokenStream {
    ROOT.with(|root| match &*root.borrow() {
        Root::Facade(path) => quote!(#path::__private::s3),
        Root::Crates => quote!(::dynox_s3::__private),
    })
}

/// The model of `input` and every error found in it (as `compile_error!`s), checked by
/// `check`. No model when there is nothing to expand or stub: the input is not a struct with
/// named fields, or it is a generic struct with errors (its stub would need bounds the user
/// has not written).
fn parse<'a>(
    input: &'a DeriveInput,
    check: fn(&mut Ctxt, &Model<'_>),
) -> (Option<Model<'a>>, Mode, TokenStream) {
    let mut cx = Ctxt::new();
    let model = Model::from_input(&mut cx, input);
    set_root(model.as_ref().and_then(|m| m.krate.as_ref()));
    if let Some(model) = &model {
        check(&mut cx, model);
    }
    match cx.check() {
        Ok(()) => (model, Mode::Full, TokenStream::new()),
        Err(errors) => {
            let model = model.filter(|_| input.generics.params.is_empty());
            (model, Mode::Stub, errors.to_compile_error())
        }
    }
}

/// The whole expansion of `#[derive(DynamoModel)]`, or every error found and a stub.
pub fn derive(input: &DeriveInput) -> TokenStream {
    let (model, mode, errors) = parse(input, check::check);
    let Some(model) = model else {
        return errors;
    };
    // `check` has made sure of these; a stub needs neither.
    let mode = match (
        &model.table,
        model.hash_key().is_some() || model.templated(),
    ) {
        (Some(_), true) => mode,
        _ => Mode::Stub,
    };
    let model_impl = model_impl::expand(&model, mode);
    let methods = methods::expand(&model, mode);
    let constructor = constructor::expand(&model, mode);
    let files = files::expand(&model, mode);
    let (fields_type, fields_fn) = fields::expand(&model);
    let (indexes_type, indexes_fn) = indexes::handles(&model, mode);
    let readers = readers::expand(&model, mode);
    // Trait impls go inside `const _`; inherent impls stay outside: they add no name to the
    // module either, and inside an anonymous const rustc calls `Order::get` `_::<impl Order>::get`
    // in its messages.
    let trait_impls = dummy::wrap(quote! {
        #model_impl
        #files
    });
    quote! {
        #errors
        #fields_type
        #indexes_type
        #trait_impls
        #methods
        #constructor
        #fields_fn
        #indexes_fn
        #readers
    }
}
