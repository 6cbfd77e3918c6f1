//! A post's links: trendlab/links.py defines them (where they come from, the one form each is counted
//! under); this is the same rule for the scanner and the job's parser. tests/unit/test_links.py runs
//! both on the same inputs.

use crate::tok::is_space;

pub(crate) const PREFIX: &str = "https://";
const MAX_LINKS: usize = 8;
const MAX_LINK_CHARS: usize = 512;
const TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', '\'', '"', ')', ']', '}', '>'];
const TRACKING: &[&str] = &[
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "igshid", "igsh", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ref_url", "si",
    "s_cid", "cmpid", "spm", "vero_id", "oly_enc_id", "oly_anon_id", "rb_clickid", "wt_mc",
];

fn starts_with_ignore_ascii_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn tracking(param: &str) -> bool {
    let name = param.split('=').next().unwrap_or("").to_ascii_lowercase();
    name.starts_with("utm_") || TRACKING.contains(&name.as_str())
}

/// `trendlab.links.normalise_url`.
pub fn normalise_url(uri: &str) -> Option<String> {
    let rest = if starts_with_ignore_ascii_case(uri, "https://") {
        &uri[8..]
    } else if starts_with_ignore_ascii_case(uri, "http://") {
        &uri[7..]
    } else {
        return None;
    };
    let rest = rest.split('#').next().unwrap_or("");
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    let mut host = authority.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    for port in [":80", ":443"] {
        if host.ends_with(port) {
            host.truncate(host.len() - port.len());
            break;
        }
    }
    let host = host.trim_end_matches('.');
    if host.is_empty() {
        return None;
    }
    let (mut path, query) = match tail.find('?') {
        Some(i) => (&tail[..i], &tail[i + 1..]),
        None => (tail, ""),
    };
    if path == "/" {
        path = "";
    }
    let mut out = String::with_capacity(PREFIX.len() + host.len() + tail.len());
    out.push_str(PREFIX);
    out.push_str(host);
    out.push_str(path);
    let mut first = true;
    for p in query.split('&') {
        if p.is_empty() || tracking(p) {
            continue;
        }
        out.push(if first { '?' } else { '&' });
        out.push_str(p);
        first = false;
    }
    if out.chars().count() > MAX_LINK_CHARS || out.chars().any(is_space) {
        return None;
    }
    Some(out)
}

/// `trendlab.links.text_links`: `([Hh][Tt][Tt][Pp][Ss]?://)\S*` left to right, trailing punctuation off.
pub fn text_links(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    if !text.contains("://") {
        return out;
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        if !bytes[i..i + 4].eq_ignore_ascii_case(b"http") {
            i += 1;
            continue;
        }
        let mut body = i + 4;
        if body < bytes.len() && (bytes[body] == b's' || bytes[body] == b'S') {
            body += 1;
        }
        if !text[body..].starts_with("://") {
            i += 1;
            continue;
        }
        body += 3;
        let end = text[body..].char_indices().find(|&(_, c)| is_space(c)).map_or(text.len(), |(k, _)| body + k);
        let url = text[i..end].trim_end_matches(TRAILING);
        if url.len() > body - i {
            out.push(url);
        }
        i = end.max(body);
    }
    out
}

/// `trendlab.links.post_links`: `uris` (facets, then the embed) and the text's links, normalised, each
/// once, at most `MAX_LINKS`.
pub fn post_links<'a>(uris: impl IntoIterator<Item = &'a str>, text: &'a str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for uri in uris.into_iter().chain(text_links(text)) {
        if let Some(link) = normalise_url(uri) {
            if !out.contains(&link) {
                out.push(link);
                if out.len() == MAX_LINKS {
                    break;
                }
            }
        }
    }
    out
}
