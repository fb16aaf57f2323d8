//! Messaging rules shared by every channel: what an inbound item is once a webhook has been
//! parsed, the delivery states of what we send, the conversation lifecycle, WhatsApp's 24-hour
//! window and the 1–5 satisfaction score. Channel adapters produce these types; nothing past
//! them needs to know a provider's wire format.

pub mod conversation;
pub mod delivery;
pub mod inbound;
pub mod message;
pub mod survey;
pub mod window;

pub use conversation::{ConversationStatus, SenderType};
pub use delivery::{DeliveryError, DeliveryStatus, DeliveryUpdate};
pub use inbound::{ChoiceSource, InboundItem, InboundMessage, MediaKind, MessageBody, Sender};
pub use message::{Direction, MessageKind, SendMethod};
pub use survey::Score;
pub use window::ServiceWindow;
