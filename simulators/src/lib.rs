
pub mod transmit;
pub mod easysend;
pub mod lookout;
