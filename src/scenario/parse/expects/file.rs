//! `file = "HOST:PATH"` with `equals` or `contains`: a file a server or program wrote in the
//! host's directory of the run.

use toml::Spanned;

use super::{ExpectInput, ExpectKind};
use crate::scenario::parse::check_relative_file;
use crate::scenario::{Expect, FileCheck, ScenarioError};

pub(in crate::scenario::parse) const KIND: ExpectKind = ExpectKind {
    key: "file",
    usage: "file = \"HOST:PATH\" with equals or contains",
    example: "file = \"server:dump.txt\"\ncontains = \"hi\"",
    takes: &["equals", "contains"],
    parse,
};

fn parse(input: &ExpectInput) -> Result<Expect, ScenarioError> {
    let (cx, raw) = (input.cx, input.raw);
    let file = raw.file.as_ref().expect("the kind's key is set");
    let inner = cx.inner(file);
    let Some((host, path)) = file.get_ref().split_once(':') else {
        return Err(cx
            .err(inner, format!("bad file {:?}", file.get_ref()))
            .with_hint("file = \"HOST:PATH\", e.g. \"server:dump.txt\""));
    };
    let host_span = inner.start..inner.start + host.len();
    let host = input.resolver.host(host, host_span)?;
    let path_start = inner.start + file.get_ref().find(':').unwrap_or(0) + 1;
    check_relative_file(
        cx,
        &Spanned::new(
            path_start - 1..path_start + path.len() + 1,
            path.to_string(),
        ),
    )?;
    let check = match (&raw.equals, &raw.contains) {
        (Some(e), None) => FileCheck::Equals(e.clone()),
        (None, Some(c)) => FileCheck::Contains(c.clone()),
        _ => {
            return Err(cx.err(
                input.here.clone(),
                "a file expectation needs exactly one of equals, contains",
            ));
        }
    };
    Ok(Expect::File {
        host,
        path: path.to_string(),
        check,
        line: input.line,
    })
}
