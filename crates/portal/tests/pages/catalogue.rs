use bma_domain::access::Role;
use bma_domain::monitoring::{AlertKind, Severity};
use bma_portal::i18n::{AREAS, Lang, message_ids};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("a directory").flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

pub fn templates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"), "html", &mut out);
    out
}

fn ids(lang: Lang) -> BTreeSet<String> {
    AREAS.iter().flat_map(|(_, en, th)| message_ids(if lang == Lang::Th { th } else { en })).collect()
}

#[test]
fn english_and_thai_define_exactly_the_same_messages() {
    let (en, th) = (ids(Lang::En), ids(Lang::Th));
    assert!(en.len() > 50);
    assert_eq!(en.difference(&th).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in Thai");
    assert_eq!(th.difference(&en).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in English");
}

#[test]
fn every_catalogue_file_is_loaded() {
    for lang in Lang::ALL {
        let mut found = Vec::new();
        files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales").join(lang.as_str()), "ftl", &mut found);
        let mut names: Vec<String> =
            found.iter().filter_map(|p| p.file_stem()).map(|s| s.to_string_lossy().into_owned()).collect();
        names.sort();
        let mut listed: Vec<String> = AREAS.iter().map(|(a, _, _)| (*a).to_owned()).collect();
        listed.sort();
        assert_eq!(names, listed, "locales/{} and i18n::AREAS", lang.as_str());
    }
}

/// Message-like string literals (`"word-word"`) inside template tags.
fn used_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in text.split("{{").skip(1).chain(text.split("{%").skip(1)) {
        let inner = tag.split(['}', '%']).next().unwrap_or("");
        for (i, lit) in inner.split('"').enumerate() {
            let looks =
                lit.contains('-') && lit.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if i % 2 == 1 && looks && !lit.ends_with('-') {
                out.push(lit.to_owned());
            }
        }
    }
    out
}

#[test]
fn every_message_the_templates_and_pages_use_exists() {
    let known = ids(Lang::En);
    let mut used: Vec<String> = Vec::new();
    for p in templates() {
        used.extend(used_in(&std::fs::read_to_string(&p).expect("template")));
    }
    let mut sources = Vec::new();
    files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), "rs", &mut sources);
    for p in sources {
        let text = std::fs::read_to_string(&p).expect("source");
        for (i, lit) in text.split('"').enumerate() {
            let looks =
                lit.contains('-') && lit.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            let message = [
                "nav-",
                "signin-",
                "invitation-",
                "mfa-",
                "profile-",
                "status-",
                "dashboard-",
                "error-",
                "venues-",
                "team-",
                "audit-",
                "campaigns-",
                "analytics-",
            ]
            .iter()
            .any(|p| lit.starts_with(p));
            if i % 2 == 1 && looks && message && !lit.ends_with('-') {
                used.push(lit.to_owned());
            }
        }
    }
    // Families named after an enum's values.
    used.extend(Severity::ALL.iter().map(|s| format!("severity-{}", s.as_str())));
    used.extend(AlertKind::ALL.iter().map(|k| format!("alert-kind-{}", k.as_str())));
    used.extend(Role::ALL.iter().map(|r| format!("role-{}", r.as_str())));
    used.extend(Lang::ALL.iter().map(|l| format!("lang-{}", l.as_str())));
    used.extend(bma_domain::campaign::CampaignStatus::ALL.iter().map(|s| format!("campaigns-status-{}", s.as_str())));
    used.extend(bma_domain::campaign::RecipientStatus::ALL.iter().map(|s| format!("recipient-{}", s.as_str())));
    used.extend(bma_domain::venue::ZoneType::ALL.iter().map(|z| format!("zone-type-{}", z.as_str())));
    used.extend(bma_domain::monitoring::ZoneStatus::ALL.iter().map(|z| format!("zone-status-{}", z.as_str())));
    used.extend((0..7).map(|d| format!("weekday-{d}")));
    used.extend(["whatsapp", "line", "email"].iter().map(|c| format!("channel-{c}")));
    used.extend(["marketing", "service", "holiday"].iter().map(|t| format!("campaigns-type-{t}")));
    used.extend(["whatsapp", "line", "email", "preferred"].iter().map(|t| format!("campaigns-channel-{t}")));
    used.extend(["staff", "all", "role"].iter().map(|t| format!("campaigns-contacts-{t}")));
    used.extend(
        ["sent", "paused", "resumed", "cancelled", "duplicated", "tested", "refused"]
            .iter()
            .map(|d| format!("campaigns-done-{d}")),
    );
    for r in bma_portal::pages::analytics::Report::ALL {
        used.push(format!("analytics-report-{}", r.as_str()));
        used.extend(r.groups().iter().map(|g| format!("analytics-group-{g}")));
        used.extend(r.columns().iter().map(|k| format!("analytics-col-{k}")));
    }
    used.extend(["team", "bot"].iter().map(|k| format!("audit-actor-{k}")));
    used.extend(["brand", "venue"].iter().map(|k| format!("status-link-kind-{k}")));
    for m in ["up", "mixed", "down", "no-data", "ahead"] {
        used.push(format!("status-link-legend-{m}"));
        if m != "ahead" {
            used.push(format!("status-link-hours-{m}"));
        }
    }
    for k in ["operational", "degraded", "not-configured"] {
        used.push(format!("status-state-{k}"));
        used.push(format!("status-overall-{k}"));
    }
    assert!(used.len() > 40);
    let missing: BTreeSet<&String> = used.iter().filter(|u| !known.contains(*u)).collect();
    assert!(missing.is_empty(), "messages used but not defined: {missing:?}");
}

#[test]
fn templates_hold_no_english_text_of_their_own() {
    for p in templates() {
        let text = std::fs::read_to_string(&p).expect("template");
        // Strip tags and template expressions; what is left between them must be blank.
        let mut rest = String::new();
        let mut depth = 0_i32;
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if two == "{{" || two == "{%" {
                depth += 1;
                i += 2;
                continue;
            }
            if (two == "}}" || two == "%}") && depth > 0 {
                depth -= 1;
                i += 2;
                continue;
            }
            if depth == 0 {
                rest.push(chars[i]);
            }
            i += 1;
        }
        let mut visible = String::new();
        let mut in_tag = false;
        for ch in rest.chars() {
            match ch {
                '<' => in_tag = true,
                '>' => in_tag = false,
                c if !in_tag => visible.push(c),
                _ => {}
            }
        }
        let words: Vec<&str> = visible.split_whitespace().filter(|w| w.chars().any(|c| c.is_alphabetic())).collect();
        assert!(words.is_empty(), "{} shows untranslated text: {words:?}", p.display());
    }
}
