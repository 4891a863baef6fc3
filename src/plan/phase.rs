//! `Phase` and `Lane`: the shape of a launch. Phases run one after another and are what
//! the progress lines number (`[2/4]`); the lanes of a phase run at the same time; the
//! steps of a lane run in order. A step may wait for a slot that another lane of its
//! phase fills. Pure.

use crate::plan::slot::Slot;
use crate::plan::step::Step;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phase {
    /// The progress line that starts the phase (placeholders of filled slots replaced).
    pub title: String,
    pub lanes: Vec<Lane>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lane {
    pub name: String,
    pub steps: Vec<Step>,
}

impl Phase {
    /// A phase of one lane.
    pub fn single(title: impl Into<String>, steps: Vec<Step>) -> Phase {
        let title = title.into();
        Phase {
            lanes: vec![Lane {
                name: title.clone(),
                steps,
            }],
            title,
        }
    }

    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.lanes.iter().flat_map(|l| l.steps.iter())
    }
}

/// Checks that every slot a step needs is filled before it could wait forever: by an
/// earlier phase, earlier in its lane, by another lane of its phase, or from the start
/// (`initial`). Returns the first problem.
pub fn check_slots(phases: &[Phase], initial: &[Slot]) -> Result<(), String> {
    let mut filled: Vec<Slot> = initial.to_vec();
    for phase in phases {
        let in_phase: Vec<Slot> = phase.steps().filter_map(Step::fills).collect();
        for lane in &phase.lanes {
            let mut in_lane = Vec::new();
            for step in &lane.steps {
                let other_lanes = |s: &Slot| {
                    phase
                        .lanes
                        .iter()
                        .filter(|l| l.name != lane.name)
                        .flat_map(|l| l.steps.iter())
                        .any(|st| st.fills() == Some(*s))
                };
                for need in step.needs() {
                    if !(filled.contains(&need) || in_lane.contains(&need) || other_lanes(&need)) {
                        return Err(format!(
                            "phase `{}`, lane `{}`: a step needs {} and nothing fills it first",
                            phase.title,
                            lane.name,
                            need.placeholder()
                        ));
                    }
                }
                in_lane.extend(step.fills());
            }
        }
        filled.extend(in_phase);
    }
    Ok(())
}
