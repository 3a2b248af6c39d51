//! Import and export of corpora. Importers turn files into [`emrel_core::DocumentInput`]s and
//! never touch the database; every problem they find names the file and line it came from.
//! Exporters write the transport types in [`export`] that the store fills.

pub mod brat;
pub mod ccks2017;
pub mod demo;
pub mod export;
pub mod jsonl;
mod read;
