//! Who is running and until when: the lease owner and the deadline of one invocation.

use std::time::Duration;

use lambda_runtime::Context;

use crate::deadline::Deadline;
use crate::runtime;

/// The budget of an invocation whose context carries no deadline (a test's `Context::default()`).
const UNBOUNDED_BUDGET: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct RunContext {
    /// The lease owner: the request id plus a random part, unique per invocation.
    pub owner: String,
    /// When to have stopped: the Lambda deadline minus the safety margin.
    pub deadline: Deadline,
}

impl RunContext {
    /// From a Lambda context (its deadline in epoch milliseconds, or none, and its request id).
    pub fn from_lambda(function: &str, context: &Context, margin: Duration) -> RunContext {
        RunContext {
            owner: runtime::lease_owner(function, context),
            deadline: if context.deadline == 0 {
                Deadline::after(UNBOUNDED_BUDGET)
            } else {
                runtime::deadline(context, margin)
            },
        }
    }

    /// A run with `budget` from now (tests, tools).
    pub fn with_budget(function: &str, budget: Duration) -> RunContext {
        RunContext {
            owner: runtime::lease_owner(function, &Context::default()),
            deadline: Deadline::after(budget),
        }
    }
}
