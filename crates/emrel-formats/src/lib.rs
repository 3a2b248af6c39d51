//! Import and export of corpora. Importers turn files into [`emrel_core::DocumentInput`]s and
//! never touch the database; every problem they find names the file and line it came from.
//! Exporters write what the store hands them.
