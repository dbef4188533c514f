//! The shared landing and state code against the local stack (moto in server mode).

mod landing;
mod multipart;
mod overwrite;
mod partitions;
mod state;
mod support;
mod unparsed;
