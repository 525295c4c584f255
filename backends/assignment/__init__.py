"""Course allocation with preference elicitation (assignment specs): a seeded preference
simulator, the interface-report noise model, comparison-query proxies, a monotone value
model per student, Course Match / A-CEEI and the full-information benchmark."""
