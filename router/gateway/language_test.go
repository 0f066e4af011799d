package gateway

import "testing"

func TestDetectLanguage(t *testing.T) {
	for text, want := range map[string]string{
		"How can I reset my password for the app?":                   "en",
		"Wie kann ich mein Passwort zurücksetzen? Das ist nicht gut": "de",
		"Comment je peux changer mon mot de passe pour le compte":    "fr",
		"¿Cómo puedo cambiar mi contraseña para la cuenta?":          "es",
		"Come posso cambiare la mia password per il conto":           "it",
		"Como eu posso mudar a minha senha para você":                "pt",
		"Hoe kan ik mijn wachtwoord veranderen voor het account":     "nl",
		"Как мне сбросить пароль":                                    "ru",
		"パスワードをリセットするには":                                             "ja",
		"如何重置我的密码":                                                   "zh",
		"비밀번호를 재설정하려면":                                               "ko",
		"12345 ???":                                                  "",
	} {
		if got := detectLanguage(text); got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}
