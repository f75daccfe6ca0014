package messages

// InstantEnvironmentType is the environment type of jobs an agent grades
// in its own process in microseconds, with no container: INGInious'
// multiple-choice tasks (containers/mcq). Such a job takes none of the
// agent's AvailableJobSlots, which count containers; each agent takes up
// to InstantSlots of them at once besides, so that a deadline's quizzes
// do not wait behind its programs, as INGInious' separate MCQ agent
// keeps them from doing (protocol 6: a protocol 5 agent would refuse
// them past its slots, and the backend send them again).
const InstantEnvironmentType = "mcq"

// InstantSlots is how many jobs of InstantEnvironmentType an agent takes
// at once, beside its slots.
const InstantSlots = 64

// Instant says whether jobs of environment type typ take no slot.
func Instant(typ string) bool { return typ == InstantEnvironmentType }
