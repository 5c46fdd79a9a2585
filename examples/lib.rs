//! Code the example applications share with the tests that drive them.

pub mod documents_web;
