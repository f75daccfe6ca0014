package mcq

// own are the grader's own texts, in ingo's words, in the languages
// INGInious' MCQ agent has catalogs for; a job of another @lang gets
// English (the keys), as there. {} is where a count goes.
var own = map[string]map[string]string{
	"de": {
		msgWrongMultiple: "Falsche Antwort. Achten Sie darauf, alle richtigen Möglichkeiten auszuwählen",
		msgWrong:         "Falsche Antwort",
		msgRight:         "Richtige Antwort",
		textWrongCount:   "Sie haben {} falsche Antwort(en).",
		textInvalidCount: "Davon haben Sie {} ungültige Antwort(en) in den Multiple-Choice-Fragen",
	},
	"es": {
		msgWrongMultiple: "Respuesta incorrecta. Asegúrese de seleccionar todas las opciones correctas",
		msgWrong:         "Respuesta incorrecta",
		msgRight:         "Respuesta correcta",
		textWrongCount:   "Tiene {} respuesta(s) incorrecta(s).",
		textInvalidCount: "Entre ellas, tiene {} respuesta(s) no válida(s) en las preguntas de opción múltiple",
	},
	"fr": {
		msgWrongMultiple: "Mauvaise réponse. Veillez à sélectionner toutes les possibilités correctes",
		msgWrong:         "Mauvaise réponse",
		msgRight:         "Bonne réponse",
		textWrongCount:   "Vous avez {} mauvaise(s) réponse(s).",
		textInvalidCount: "Parmi celles-ci, vous avez {} réponse(s) invalide(s) aux questions à choix multiples",
	},
	"he": {
		msgWrongMultiple: "תשובה שגויה. יש לבחור את כל האפשרויות הנכונות",
		msgWrong:         "תשובה שגויה",
		msgRight:         "תשובה נכונה",
		textWrongCount:   "יש לך {} תשובות שגויות.",
		textInvalidCount: "מתוכן, {} תשובות לא תקינות בשאלות הבחירה המרובה",
	},
	"nb_NO": {
		msgWrongMultiple: "Feil svar. Pass på å velge alle de riktige alternativene",
		msgWrong:         "Feil svar",
		msgRight:         "Riktig svar",
		textWrongCount:   "Du har {} feil svar.",
		textInvalidCount: "Av disse har du {} ugyldige svar i flervalgsspørsmålene",
	},
}

// The grader's texts of a whole job, in English.
const (
	textWrongCount   = "You have {} wrong answer(s)."
	textInvalidCount = "Among them, you have {} invalid answers in the multiple choice questions"
	textNoProblems   = "No subproblems defined"
)

// English texts of the messages a problem names.
var english = map[string]string{
	msgWrongMultiple: "Wrong answer. Make sure to select all the valid possibilities",
	msgWrong:         "Wrong answer",
	msgRight:         "Correct answer",
}

// say is the grader's text key in lang.
func say(lang, key string) string {
	if t, ok := own[lang][key]; ok {
		return t
	}
	if t, ok := english[key]; ok {
		return t
	}
	return key
}
