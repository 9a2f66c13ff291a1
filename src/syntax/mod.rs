//! Policy text and YAML -> the spanned syntax tree in [`ast`].

pub mod ast;
