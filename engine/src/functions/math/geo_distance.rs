//! GEO_DISTANCE: great-circle distance between two points (haversine formula).

use crate::functions::error::eval_err;
use crate::functions::kernels::{any_null, f64s, map_to_f64, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `GEO_DISTANCE(lat1, lon1, lat2, lon2 [, unit])`: the great-circle distance in km
/// (default) or miles (`unit` 'MI', 'MILES', 'MILE'; 'KM', 'KILOMETERS', 'KILOMETER' for
/// km, case-insensitive) with an Earth radius of 6371 km / 3959 mi. Latitudes must be in
/// [-90, 90] and longitudes in [-180, 180], else the call fails, as does an unknown unit.
/// NULL in any argument → NULL.
pub fn def() -> FunctionDef {
    let coords = [
        ("lat1", P::Double),
        ("lon1", P::Double),
        ("lat2", P::Double),
        ("lon2", P::Double),
    ];
    let mut with_unit = coords.to_vec();
    with_unit.push(("unit", P::String));
    FunctionDef::new(
        "GEO_DISTANCE",
        Category::Numeric,
        "Returns the great-circle distance between two latitude/longitude points, in \
         kilometers (default) or miles.",
        vec![
            Overload::new(&coords, P::Double),
            Overload::new(&with_unit, P::Double),
        ],
        |c: &Call| {
            let (lat1, lon1, lat2, lon2) = (
                f64s(&c.args[0]),
                f64s(&c.args[1]),
                f64s(&c.args[2]),
                f64s(&c.args[3]),
            );
            let unit = c.args.get(4).map(strs);
            map_to_f64(c.rows, |i| {
                if any_null(c.args, i) {
                    return Ok(None);
                }
                let radius = match unit.map(|u| u.value(i).to_ascii_uppercase()) {
                    None => 6371.0,
                    Some(u) if ["KM", "KILOMETER", "KILOMETERS"].contains(&u.as_str()) => 6371.0,
                    Some(u) if ["MI", "MILE", "MILES"].contains(&u.as_str()) => 3959.0,
                    Some(u) => {
                        return eval_err(format!("GEO_DISTANCE: unknown unit '{u}'; use KM or MI"))
                    }
                };
                let (a1, o1, a2, o2) = (lat1.value(i), lon1.value(i), lat2.value(i), lon2.value(i));
                for lat in [a1, a2] {
                    if !(-90.0..=90.0).contains(&lat) {
                        return eval_err("valid latitude values are in [-90, 90]");
                    }
                }
                for lon in [o1, o2] {
                    if !(-180.0..=180.0).contains(&lon) {
                        return eval_err("valid longitude values are in [-180, 180]");
                    }
                }
                let (p1, p2) = (a1.to_radians(), a2.to_radians());
                let dlat = (a2 - a1).to_radians();
                let dlon = (o2 - o1).to_radians();
                let (sl, so) = ((dlat / 2.0).sin(), (dlon / 2.0).sin());
                // The same operation order as ksqlDB, so results agree to the last bit.
                let h = sl * sl + so * so * p1.cos() * p2.cos();
                Ok(Some(2.0 * radius * h.sqrt().asin()))
            })
        },
    )
}
