//! Plan YAML as `ptc run plan.yaml` loads it: bounds, serde, validation
//! (indices, sizes, SPIR-V through spirv-val and spirq, schedule). A plan
//! that loads must write back and load again to the same plan.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ptc_plan::Plan;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(plan) = Plan::from_yaml(text) {
        let info = plan.validate().expect("a loaded plan validates again");
        for t in 0..plan.ptasks.len() {
            assert!(
                info.ptask(t).is_some(),
                "every ptask has its module's facts"
            );
        }
        let again = plan.to_yaml().expect("a loaded plan can be written");
        assert_eq!(Plan::from_yaml(&again).as_ref(), Ok(&plan));
    }
});
