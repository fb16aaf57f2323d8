//! The rich menu a venue sees under the LINE chat: its API body, and a generated image that
//! satisfies LINE's image rules, so that a fresh deployment can install a working menu without
//! a designer's file.

use super::png;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub struct RichMenu {
    pub name: String,
    pub chat_bar_text: String,
    pub width: u32,
    pub height: u32,
    pub areas: Vec<RichMenuArea>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RichMenuArea {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub postback_data: String,
    pub display_text: String,
}

/// Panel colours of the generated image, one per area in turn (the divider is white).
const PALETTE: [[u8; 3]; 4] = [[255, 255, 255], [29, 53, 87], [42, 157, 143], [231, 111, 81]];

impl RichMenu {
    /// The default menu: 2500x843, three areas "Music status" (menu=status), "Volume"
    /// (menu=volume), "Talk to us" (menu=human).
    pub fn standard() -> Self {
        let (width, height) = (2500, 843);
        let third = width / 3;
        let items = [("menu=status", "Music status"), ("menu=volume", "Volume"), ("menu=human", "Talk to us")];
        let areas = items
            .iter()
            .enumerate()
            .map(|(i, (data, text))| {
                let x = third * i as u32;
                let w = if i == items.len() - 1 { width - x } else { third };
                RichMenuArea {
                    x,
                    y: 0,
                    width: w,
                    height,
                    postback_data: (*data).to_owned(),
                    display_text: (*text).to_owned(),
                }
            })
            .collect();
        RichMenu { name: "BMA standard".into(), chat_bar_text: "Menu".into(), width, height, areas }
    }

    /// The body of `POST /v2/bot/richmenu`.
    pub fn to_json(&self) -> Value {
        let areas: Vec<Value> = self
            .areas
            .iter()
            .map(|a| {
                let mut action = json!({ "type": "postback", "data": a.postback_data, "displayText": a.display_text });
                if a.display_text.chars().count() <= 20 {
                    action["label"] = json!(a.display_text);
                }
                json!({ "bounds": { "x": a.x, "y": a.y, "width": a.width, "height": a.height }, "action": action })
            })
            .collect();
        json!({
            "size": { "width": self.width, "height": self.height },
            "selected": false,
            "name": self.name,
            "chatBarText": self.chat_bar_text,
            "areas": areas,
        })
    }

    /// A PNG of the menu's exact size: one flat colour per area with its label in white capitals,
    /// white dividers between areas. Flat bands compress to a few tens of kilobytes, far under
    /// LINE's 1 MB.
    pub fn placeholder_png(&self) -> Vec<u8> {
        let (w, h) = (self.width as usize, self.height as usize);
        let mut pixels = vec![0u8; w * h];
        for (i, a) in self.areas.iter().enumerate() {
            let colour = 1 + (i % (PALETTE.len() - 1)) as u8;
            let (x0, y0) = (a.x as usize, a.y as usize);
            let (x1, y1) = ((x0 + a.width as usize).min(w), (y0 + a.height as usize).min(h));
            for y in y0..y1 {
                let row = &mut pixels[y * w..(y + 1) * w];
                for (x, px) in row.iter_mut().enumerate().take(x1).skip(x0) {
                    let border = x < x0 + 4 || x + 4 >= x1 || y < y0 + 4 || y + 4 >= y1;
                    *px = if border { 0 } else { colour };
                }
            }
            draw_label(&mut pixels, w, a, &a.display_text.to_uppercase());
        }
        png::encode_indexed(self.width, self.height, &PALETTE, &pixels)
    }
}

/// 5x7 capitals, one row per byte, bit 4 the leftmost column.
const GLYPHS: [[u8; 7]; 26] = [
    [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110],
    [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
    [0b11110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11110],
    [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
    [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000],
    [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111],
    [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
    [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
    [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100],
    [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001],
    [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111],
    [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001],
    [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001],
    [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000],
    [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101],
    [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
    [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
    [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
    [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
    [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
    [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010],
    [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001],
    [0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100],
    [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111],
];

/// Writes `text` (A–Z and spaces; anything else is a gap) centred in the area, in palette
/// colour 0, as large as fits.
fn draw_label(pixels: &mut [u8], stride: usize, a: &RichMenuArea, text: &str) {
    let cols = text.chars().count() * 6;
    if cols == 0 {
        return;
    }
    let scale = ((a.width as usize).saturating_sub(80) / cols).min((a.height as usize) / 20).min(12);
    if scale == 0 {
        return;
    }
    let x0 = a.x as usize + (a.width as usize - (cols - 1) * scale) / 2;
    let y0 = a.y as usize + (a.height as usize - 7 * scale) / 2;
    for (i, c) in text.chars().enumerate() {
        let Some(glyph) = c.is_ascii_uppercase().then(|| GLYPHS[(c as u8 - b'A') as usize]) else { continue };
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..5 {
                if bits & (0b10000 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    let y = y0 + row * scale + dy;
                    let x = x0 + (i * 6 + col) * scale;
                    if let Some(run) = pixels.get_mut(y * stride + x..y * stride + x + scale) {
                        run.fill(0);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_menu_covers_its_whole_width_with_three_postback_areas() {
        let m = RichMenu::standard();
        assert_eq!((m.width, m.height), (2500, 843));
        assert_eq!(m.areas.iter().map(|a| a.width).sum::<u32>(), 2500);
        let v = m.to_json();
        assert_eq!(v["size"], json!({"width": 2500, "height": 843}));
        assert_eq!(v["areas"][2]["action"]["data"], "menu=human");
        assert_eq!(v["areas"][1]["action"]["displayText"], "Volume");
        assert_eq!(v["areas"][0]["bounds"]["x"], 0);
        assert_eq!(v["chatBarText"], "Menu");
    }

    #[test]
    fn the_placeholder_image_is_a_png_of_the_menu_size_under_one_megabyte() {
        let m = RichMenu::standard();
        let png = m.placeholder_png();
        assert!(png.len() < 1_000_000, "{} bytes", png.len());
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(u32::from_be_bytes([png[16], png[17], png[18], png[19]]), 2500);
        assert_eq!(u32::from_be_bytes([png[20], png[21], png[22], png[23]]), 843);
    }
}
