//! What every `tributary-sim <vendor>` shares: `--flag value` parsing with `--port N`, the loopback listener,
//! the base URL as the first line on stdout, and serving until the process is killed.

use std::str::FromStr;

use axum::Router;
use tokio::net::TcpListener;

pub type CliError = Box<dyn std::error::Error + Send + Sync>;
pub type CliResult<T = ()> = Result<T, CliError>;

/// The options not read yet; a vendor's option handler takes its flag's value from here.
pub struct Args<'a> {
    rest: std::slice::Iter<'a, String>,
}

impl Args<'_> {
    /// The value after `flag`.
    pub fn value(&mut self, flag: &str) -> CliResult<String> {
        self.rest
            .next()
            .cloned()
            .ok_or_else(|| format!("{flag} needs a value").into())
    }

    /// The value after `flag`, parsed.
    pub fn parse<T>(&mut self, flag: &str) -> CliResult<T>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let value = self.value(flag)?;
        value
            .parse()
            .map_err(|e: T::Err| format!("{flag} {value:?} is not valid: {e}").into())
    }
}

/// Reads `args`: `--port N` here (0, the default, picks a free port), every other flag by `vendor_option`,
/// which takes the flag's value (if it has one) from the [`Args`] it is given and answers whether it knows
/// the flag. Returns the port.
pub fn parse(
    args: &[String],
    mut vendor_option: impl FnMut(&str, &mut Args<'_>) -> CliResult<bool>,
) -> CliResult<u16> {
    let mut args = Args { rest: args.iter() };
    let mut port = 0;
    while let Some(flag) = args.rest.next() {
        if flag == "--port" {
            let value = args.value(flag)?;
            port = value
                .parse()
                .map_err(|_| format!("--port {value:?} must be a port number from 0 to 65535"))?;
        } else if !vendor_option(flag, &mut args)? {
            return Err(format!("unknown option {flag}").into());
        }
    }
    Ok(port)
}

/// Serves `app` on `127.0.0.1:port` until the process is killed. Once it accepts connections it prints its
/// base URL (`http://127.0.0.1:<port>`, nothing else) as the first line on stdout: how a script or benchmark
/// that asked for port 0 learns the port.
pub async fn serve(port: u16, app: Router) -> CliResult {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
