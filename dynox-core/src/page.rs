//! Pages of results and the opaque token that resumes after one.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::Error;
use crate::item::{AttributeValue, Blob, Item};

/// One page of a query or scan.
#[derive(Debug, Clone)]
pub struct Page<M> {
    /// The items of this page, in order.
    pub items: Vec<M>,
    /// Where the next page starts, or `None` when this was the last page.
    pub next: Option<PageToken>,
}

/// Where to resume a query: DynamoDB's `LastEvaluatedKey`, opaque to the caller.
///
/// It converts to a URL-safe string (`to_string()`) and back (`parse()`), so it can go to a
/// browser and come back in the next request.
///
/// ```
/// use dynox_core::PageToken;
///
/// assert!("not a token".parse::<PageToken>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PageToken(Item);

impl PageToken {
    pub(crate) fn from_item(item: Item) -> Option<Self> {
        (!item.is_empty()).then_some(Self(item))
    }

    pub(crate) fn into_item(self) -> Item {
        self.0
    }
}

impl fmt::Display for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries: Vec<_> = self.0.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut bytes = Vec::new();
        for (name, value) in entries {
            let (tag, data): (u8, &[u8]) = match value {
                AttributeValue::S(s) => (b'S', s.as_bytes()),
                AttributeValue::N(n) => (b'N', n.as_bytes()),
                AttributeValue::B(b) => (b'B', b.as_ref()),
                // Keys are only ever S, N or B.
                _ => continue,
            };
            push_chunk(&mut bytes, name.as_bytes());
            bytes.push(tag);
            push_chunk(&mut bytes, data);
        }
        f.write_str(&URL_SAFE_NO_PAD.encode(bytes))
    }
}

fn push_chunk(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
}

fn take_chunk<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], Error> {
    let truncated = Error::InvalidPageToken {
        reason: "truncated",
    };
    if input.len() < 4 {
        return Err(truncated);
    }
    let (len, rest) = input.split_at(4);
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if rest.len() < len {
        return Err(truncated);
    }
    let (chunk, rest) = rest.split_at(len);
    *input = rest;
    Ok(chunk)
}

impl FromStr for PageToken {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| Error::InvalidPageToken {
                reason: "not base64url",
            })?;
        let utf8 = |b: &[u8]| {
            String::from_utf8(b.to_vec()).map_err(|_| Error::InvalidPageToken {
                reason: "not UTF-8",
            })
        };
        let mut input = bytes.as_slice();
        let mut item = Item::new();
        while !input.is_empty() {
            let name = utf8(take_chunk(&mut input)?)?;
            let (&tag, rest) = input.split_first().ok_or(Error::InvalidPageToken {
                reason: "truncated",
            })?;
            input = rest;
            let data = take_chunk(&mut input)?;
            let value = match tag {
                b'S' => AttributeValue::S(utf8(data)?),
                b'N' => AttributeValue::N(utf8(data)?),
                b'B' => AttributeValue::B(Blob::new(data)),
                _ => {
                    return Err(Error::InvalidPageToken {
                        reason: "unknown attribute type",
                    })
                }
            };
            item.insert(name, value);
        }
        PageToken::from_item(item).ok_or(Error::InvalidPageToken { reason: "empty" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_key_type() {
        let item: Item = [
            ("pk".to_string(), AttributeValue::S("a/b#ü".into())),
            ("sk".to_string(), AttributeValue::N("-12".into())),
            (
                "bin".to_string(),
                AttributeValue::B(Blob::new(vec![0, 255])),
            ),
        ]
        .into();
        let token = PageToken(item);
        assert_eq!(token.to_string().parse::<PageToken>().unwrap(), token);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "!!", "AAAA", "AAAAAWE"] {
            assert!(bad.parse::<PageToken>().is_err(), "{bad:?}");
        }
    }
}
