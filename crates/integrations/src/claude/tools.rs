//! The tool-use loop: while the model stops for `tool_use`, run each tool it asked for and answer
//! with `tool_result` blocks, appending its turn verbatim, until it ends its turn or the turn
//! budget is spent.

use super::{Block, ClaudeClient, ClaudeError, MessagesRequest, MessagesResponse, Role, StopReason, Turn};
use serde_json::Value;
use std::future::Future;

/// One tool call the loop made on the model's behalf.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallRecord {
    /// The `tool_use` id the result answered.
    pub id: String,
    pub name: String,
    pub input: Value,
    /// What went back as the `tool_result` content.
    pub output: String,
    pub is_error: bool,
    /// 1 for tools asked for in the first answer, and so on.
    pub turn: u32,
}

/// Calls the model at most `max_turns` times. `call_tool(name, input)` answers `Ok(content)` or
/// `Err(message)`, which goes back with `is_error: true` so the model can recover.
pub async fn run_tools<F, Fut>(
    client: &ClaudeClient,
    req: &MessagesRequest,
    max_turns: u32,
    mut call_tool: F,
) -> Result<(MessagesResponse, Vec<ToolCallRecord>), ClaudeError>
where
    F: FnMut(String, Value) -> Fut,
    Fut: Future<Output = Result<String, String>>,
{
    let mut req = req.clone();
    let mut calls = Vec::new();
    for turn in 1..=max_turns {
        let answer = client.create(&req).await?;
        if answer.stop_reason != StopReason::ToolUse {
            return Ok((answer, calls));
        }
        let uses: Vec<(String, String, Value)> =
            answer.tool_uses().map(|(id, name, input)| (id.to_owned(), name.to_owned(), input.clone())).collect();
        if uses.is_empty() {
            return Err(ClaudeError::Malformed("stop_reason tool_use without a tool_use block".into()));
        }
        req.messages.push(Turn { role: Role::Assistant, content: answer.content });
        let mut results = Vec::with_capacity(uses.len());
        for (id, name, input) in uses {
            let (output, is_error) = match call_tool(name.clone(), input.clone()).await {
                Ok(out) => (out, false),
                Err(msg) => (msg, true),
            };
            tracing::debug!(tool = %name, is_error, turn, "tool called for the model");
            results.push(Block::ToolResult { tool_use_id: id.clone(), content: output.clone(), is_error });
            calls.push(ToolCallRecord { id, name, input, output, is_error, turn });
        }
        req.messages.push(Turn { role: Role::User, content: results });
    }
    Err(ClaudeError::TooManyTurns { max_turns })
}
