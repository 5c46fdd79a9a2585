//! The anonymous `const _: () = { ... };` that generated impls live in, as serde's `dummy.rs`:
//! impls apply wherever they are written, and nothing inside can clash with, or be named
//! from, the user's module.

use proc_macro2::TokenStream;
use quote::quote;

/// `items` inside `const _: () = { ... };`.
pub fn wrap(items: TokenStream) -> TokenStream {
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, unused_qualifications)]
        const _: () = {
            #items
        };
    }
}
