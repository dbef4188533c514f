//! JSON objects made of chosen members, for tests that try to lose a field on the way through a mapping.

/// `count` objects, each with the `fixed` members and, for each of `choices`, either no member of that name or one
/// of its values, in a shuffled order. The seed is fixed, so a failure names the same object on every run.
pub fn shuffled_objects(fixed: &[&str], choices: &[(&str, &[&str])], count: usize) -> Vec<String> {
    let mut state = 0x5EED_u64;
    let mut next = |below: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % below
    };
    (0..count)
        .map(|_| {
            let mut members: Vec<String> = fixed.iter().map(|m| (*m).to_owned()).collect();
            for (name, values) in choices {
                let pick = next(values.len() + 1);
                if pick < values.len() {
                    members.push(format!(r#""{name}":{}"#, values[pick]));
                }
            }
            for i in (1..members.len()).rev() {
                members.swap(i, next(i + 1));
            }
            format!("{{{}}}", members.join(","))
        })
        .collect()
}
