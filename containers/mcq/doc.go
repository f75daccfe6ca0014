// Package mcq grades INGInious' multiple-choice tasks (environment type
// "mcq", environment "mcq") in the agent's own process, as INGInious'
// MCQ agent does: no container, a few microseconds a job. Most public
// INGInious courses have such tasks (a quiz of multiple_choice and match
// problems); without a grader for them a drop-in backend refuses them
// ("Environment not available").
//
// Wrap adds the grader to a runtime: the agent offers mcq/mcq beside the
// runtime's environments, runs jobs of type "mcq" here, and the others in
// the runtime. The agent's setting agent.mcq turns it off.
//
// # Grading
//
// Grade reads the job's task_problems (the problems of task.yaml, which
// the web app sends with every job) and its input, as INGInious does
// (inginious/common/tasks_problems.py, agent/mcq_agent):
//
//   - multiple_choice: one answer (a choice's index), or with multiple a
//     list of them, right when exactly the valid choices are chosen; each
//     wrong choice, chosen or left out, counts once in "invalid answers in
//     the multiple choice questions". The messages are error_message or
//     "Wrong answer" (unless centralize), or success_message, then the
//     feedback of each choice chosen.
//   - match: right when the answer, without surrounding white space, is
//     the problem's answer; "Correct answer" or "Wrong answer" unless
//     centralize.
//   - code, code_single_line, file and the plugins' code types need a
//     container: the job crashes, "Task wrongly configured as a MCQ".
//
// The job succeeds when every problem is right; its grade is the share of
// right problems, its text the count of wrong ones. A task without
// problems crashes ("No subproblems defined"). A problem task.yaml
// describes wrongly (no valid choice, a bad limit, no answer, an unknown
// type) or an answer that is none of its choices crashes the job with a
// text that names the problem; INGInious crashes there too, with "An
// unknown error occurred in the agent".
//
// # Translations
//
// Texts of task.yaml (feedback, messages) are translated into the job's
// @lang with the task's gettext catalog, looked for as INGInious does in
// the task bundle: $i18n/LANG.mo in the task folder, its student folder,
// the course's $common or $common/student, in that order, the first of
// these folders that exists deciding. The grader's own texts ("Wrong
// answer", the counts) come in the languages INGInious' MCQ agent has (de,
// es, fr, he, nb_NO), in ingo's words.
package mcq
