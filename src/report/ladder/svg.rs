//! A [`Ladder`] drawn as inline SVG: column heads and lifelines, one row per packet with its
//! time and frame number on the left, the arrow between the sender's and the receiver's
//! lifelines, its label above and its payload preview below.
//!
//! Contract: every text is real SVG `<text>`, escaped; every arrow is a `<g class="pkt">` with
//! `data-conv` (the conversation's number, or `none`) and `data-frame`, and an `id` made of the
//! caller's prefix and the frame number, so a check's evidence can link to it. Colour is never
//! the only signal: each arrow carries its conversation's number in its label, and a mark has a
//! shape (triangle, crossed circle, diamond) and a word. Times are in `class="t"` elements, the
//! one thing that changes between renderings of the same capture.

use std::fmt::Write;

use super::{Arrow, Ladder, MAX_ARROWS, Mark};
use crate::text::markup;

/// Horizontal distance between two lifelines.
const COL: usize = 340;
/// Where the first lifeline is.
const LEFT: usize = 190;
/// Height of one packet's row.
const ROW: usize = 42;
/// Where the first row is.
const TOP: usize = 58;

/// One colour per conversation, from a palette readable by colour-blind people (Okabe and Ito),
/// cycled; the number on each arrow tells conversations apart when colours repeat.
pub const PALETTE: &[&str] = &[
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#9a6a00", "#56b4e9", "#6a3d9a", "#b15928",
];

/// The colour of conversation `conv`; grey for packets of none.
pub fn colour(conv: Option<usize>) -> &'static str {
    match conv {
        Some(c) => PALETTE[c % PALETTE.len()],
        None => "#666666",
    }
}

fn x(column: usize) -> usize {
    LEFT + column * COL
}

/// The ladder as an `<svg>` element; `prefix` makes the arrows' ids unique in the page.
pub fn svg(ladder: &Ladder, prefix: &str) -> String {
    let columns = ladder.columns.len().max(1);
    let width = LEFT + (columns - 1) * COL + 200;
    let rows = ladder.arrows.len();
    let height = TOP + rows * ROW + if ladder.more > 0 { 40 } else { 10 };
    let label = format!(
        "packet ladder: {} packets between {}",
        ladder.arrows.len(),
        ladder.columns.join(", ")
    );
    let mut s = crate::report::svg_open("ladder", width, height, &label);
    let _ = writeln!(
        s,
        "<text x=\"8\" y=\"20\" class=\"head\">time (s)</text>\
         <text x=\"96\" y=\"20\" class=\"head\">frame</text>"
    );
    for (i, name) in ladder.columns.iter().enumerate() {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" class=\"head\">{}</text>\
             <line x1=\"{0}\" y1=\"30\" x2=\"{0}\" y2=\"{}\" class=\"life\"/>",
            x(i),
            markup(name),
            height - 6
        );
    }
    for (k, arrow) in ladder.arrows.iter().enumerate() {
        row(&mut s, arrow, TOP + k * ROW + 12, prefix);
    }
    if ladder.more > 0 {
        let _ = writeln!(
            s,
            "<text x=\"8\" y=\"{}\" class=\"more\">{} more packets not drawn (the ladder shows \
             the first {MAX_ARROWS})</text>",
            TOP + rows * ROW + 20,
            ladder.more
        );
    }
    s.push_str("</svg>\n");
    s
}

fn row(s: &mut String, a: &Arrow, y: usize, prefix: &str) {
    let colour = colour(a.conv);
    let conv = a.conv.map_or("none".to_string(), |c| (c + 1).to_string());
    let number = a.conv.map_or(String::new(), |c| format!("#{} ", c + 1));
    let mark = a.mark.map_or(String::new(), |m| format!(" ({})", m.word()));
    let _ = write!(
        s,
        "<g class=\"pkt\" id=\"{prefix}-f{}\" data-conv=\"{conv}\" data-frame=\"{0}\"{}>\
         <title>frame {0}: {}{}{}</title>",
        a.frame,
        a.mark
            .map_or(String::new(), |m| format!(" data-mark=\"{}\"", m.word())),
        markup(&number),
        markup(&a.label),
        markup(&mark)
    );
    let secs = a.time.as_secs_f64();
    let _ = write!(
        s,
        "<text x=\"8\" y=\"{y}\" class=\"t\">{secs:.6}</text>\
         <text x=\"96\" y=\"{y}\" class=\"num\">{}</text>",
        a.frame
    );
    let (x1, x2) = (x(a.from), x(a.to));
    let right = if a.from == a.to {
        // A packet from a host to itself (loopback): a hook to the right and back.
        let _ = write!(
            s,
            "<path d=\"M{x1} {} h36 v14 h-30\" fill=\"none\" stroke=\"{colour}\" \
             stroke-width=\"2\"/><polygon points=\"{x1},{} {},{} {},{}\" fill=\"{colour}\"/>",
            y - 4,
            y + 10,
            x1 + 8,
            y + 5,
            x1 + 8,
            y + 15
        );
        x1 + 40
    } else {
        let dir: isize = if x2 > x1 { 1 } else { -1 };
        let tip = x2 as isize;
        let back = tip - dir * 9;
        let _ = write!(
            s,
            "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{back}\" y2=\"{y}\" stroke=\"{colour}\" \
             stroke-width=\"2\"/><polygon points=\"{tip},{y} {back},{} {back},{}\" \
             fill=\"{colour}\"/>",
            y - 5,
            y + 5
        );
        x1.max(x2)
    };
    let mid = if a.from == a.to {
        x1 + 50
    } else {
        (x1 + x2) / 2
    };
    let anchor = if a.from == a.to { "start" } else { "middle" };
    let _ = write!(
        s,
        "<text x=\"{mid}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"{colour}\" \
         class=\"label\">{}{}</text>",
        y - 6,
        markup(&number),
        markup(&a.label)
    );
    if !a.preview.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{mid}\" y=\"{}\" text-anchor=\"{anchor}\" class=\"preview\">{}</text>",
            y + 16,
            markup(&a.preview)
        );
    }
    if let Some(m) = a.mark {
        let cx = right + 16;
        let shape = match m {
            Mark::UnansweredSyn => format!(
                "<polygon points=\"{cx},{} {},{} {},{}\" class=\"mark-syn\"/>",
                y - 8,
                cx - 8,
                y + 6,
                cx + 8,
                y + 6
            ),
            Mark::Reset => format!(
                "<circle cx=\"{cx}\" cy=\"{y}\" r=\"7\" class=\"mark-rst\"/>\
                 <path d=\"M{} {} l8 8 M{} {} l-8 8\" class=\"mark-x\"/>",
                cx - 4,
                y - 4,
                cx + 4,
                y - 4
            ),
            Mark::IcmpError => format!(
                "<polygon points=\"{cx},{} {},{y} {cx},{} {},{y}\" class=\"mark-icmp\"/>",
                y - 8,
                cx + 8,
                y + 8,
                cx - 8
            ),
        };
        let _ = write!(
            s,
            "{shape}<text x=\"{}\" y=\"{}\" class=\"mark-word\">{}</text>",
            cx + 12,
            y + 4,
            m.word()
        );
    }
    s.push_str("</g>\n");
}
