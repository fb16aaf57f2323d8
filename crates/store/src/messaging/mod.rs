//! Conversations and messages, split by subject. Every item is re-exported here, so callers
//! keep writing `bma_store::messaging::insert_message`. Kinds (channel, status, sender, delivery
//! state, …) cross this seam as the domain's enums, never as strings.

mod analytics;
mod contacts;
mod conversations;
mod delivery;
mod inbox;
mod messages;
mod playlists;
mod survey;

pub use analytics::*;
pub use contacts::*;
pub use conversations::*;
pub use delivery::*;
pub use inbox::*;
pub use messages::*;
pub use playlists::*;
pub use survey::*;
