//! String functions: case, trimming, substrings, padding, search, regular expressions,
//! splitting, masking, character codes and text encodings.

mod case;
mod chr;
mod concat;
pub(crate) mod encode;
mod initcap;
mod instr;
mod len;
mod mask;
mod md5;
mod pad;
mod regexp;
mod replace;
mod split;
mod substring;
mod trim;
mod uuid;

use super::udf::FunctionDef;

pub(crate) use encode::Encoding;

pub(crate) fn functions() -> Vec<FunctionDef> {
    vec![
        case::ucase(),
        case::lcase(),
        chr::def(),
        concat::concat(),
        concat::concat_ws(),
        encode::def(),
        initcap::def(),
        instr::def(),
        len::def(),
        mask::mask(),
        mask::mask_left(),
        mask::mask_right(),
        mask::mask_keep_left(),
        mask::mask_keep_right(),
        md5::def(),
        pad::lpad(),
        pad::rpad(),
        regexp::regexp_extract(),
        regexp::regexp_extract_all(),
        regexp::regexp_replace(),
        regexp::regexp_split_to_array(),
        replace::def(),
        split::split(),
        split::split_to_map(),
        substring::def(),
        trim::trim(),
        trim::ltrim(),
        trim::rtrim(),
        uuid::def(),
    ]
}

#[cfg(test)]
mod tests;
