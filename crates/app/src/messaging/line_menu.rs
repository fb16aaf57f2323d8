//! LINE's rich menu: the menu under the chat ("Music status", "Volume", "Talk to us"), defined in
//! code (`RichMenu::standard`), created through the API with its image and set as the default
//! for every user, once. Its taps arrive as postbacks (`menu=…`), which the bot reads.

use crate::AppContext;
use bma_integrations::line::RichMenu;

/// Creates the standard menu and makes it the default, unless a menu of that name exists.
/// Returns the rich menu id.
pub async fn ensure_default(ctx: &AppContext) -> anyhow::Result<String> {
    let client = ctx.channels.line.as_ref().ok_or_else(|| anyhow::anyhow!("LINE is not configured"))?;
    let menu = RichMenu::standard();
    if let Some((id, _)) = client.rich_menus().await?.into_iter().find(|(_, name)| *name == menu.name) {
        client.set_default_rich_menu(&id).await?;
        return Ok(id);
    }
    let id = client.create_rich_menu(&menu).await?;
    client.upload_rich_menu_image(&id, menu.placeholder_png(), "image/png").await?;
    client.set_default_rich_menu(&id).await?;
    tracing::info!(rich_menu = %id, "LINE rich menu created and set as the default");
    Ok(id)
}
