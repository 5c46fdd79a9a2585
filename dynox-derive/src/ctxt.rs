//! Collects every error found in a derive input, so the user sees all of them at once.
//!
//! As serde's `Ctxt`: [`Ctxt::check`] consumes the collector, and dropping it without calling
//! `check` panics, so no path through the derive can forget to report what it found.

use std::fmt::Display;
use std::thread;

use quote::ToTokens;

/// The errors found so far; `None` once [`Ctxt::check`] has taken them.
pub struct Ctxt {
    errors: Option<Vec<syn::Error>>,
}

impl Ctxt {
    pub fn new() -> Self {
        Self {
            errors: Some(Vec::new()),
        }
    }

    /// Records an error spanned on `tokens`.
    pub fn error_spanned_by(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.syn_error(syn::Error::new_spanned(tokens, message));
    }

    /// Records a `syn` error (which carries its own span).
    pub fn syn_error(&mut self, error: syn::Error) {
        self.errors
            .as_mut()
            .expect("Ctxt used after check()")
            .push(error);
    }

    /// All errors combined into one, or `Ok` if there were none.
    pub fn check(mut self) -> syn::Result<()> {
        let mut errors = self.errors.take().into_iter().flatten();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for e in errors {
            combined.combine(e);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !thread::panicking() && self.errors.is_some() {
            panic!("dynox-derive: a Ctxt was dropped without check(): errors would be lost");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ctxt;

    #[test]
    fn check_returns_every_error() {
        let mut cx = Ctxt::new();
        cx.syn_error(syn::Error::new(proc_macro2::Span::call_site(), "first"));
        cx.syn_error(syn::Error::new(proc_macro2::Span::call_site(), "second"));
        let errors = cx.check().expect_err("two errors were recorded");
        let messages: Vec<String> = errors.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages, ["first", "second"]);
    }

    #[test]
    #[should_panic(expected = "dropped without check()")]
    fn dropping_unchecked_panics() {
        let _cx = Ctxt::new();
    }
}
