package email

import (
	"reflect"
	"slices"
	"testing"
)

// TestEveryLanguageHasEveryWord: the emails and the rating page speak the
// widget's languages, each of them whole.
func TestEveryLanguageHasEveryWord(t *testing.T) {
	want := []string{"da", "de", "en", "es", "fi", "fr", "it", "nb", "nl", "pt", "sv"}
	var letters, pages []string
	for code, p := range phrasebooks {
		letters = append(letters, code)
		v := reflect.ValueOf(p)
		for i := range v.NumField() {
			f := v.Field(i)
			if f.Kind() == reflect.String && f.String() == "" {
				t.Errorf("%s: %s is empty", code, v.Type().Field(i).Name)
			}
			if f.Kind() == reflect.Array {
				for j := range f.Len() {
					if f.Index(j).String() == "" {
						t.Errorf("%s: %s[%d] is empty", code, v.Type().Field(i).Name, j)
					}
				}
			}
		}
	}
	for code, words := range pageWords {
		pages = append(pages, code)
		for key := range pageWords["en"] {
			if words[key] == "" {
				t.Errorf("%s: the rating page's %q is missing", code, key)
			}
		}
	}
	slices.Sort(letters)
	slices.Sort(pages)
	if !slices.Equal(letters, want) || !slices.Equal(pages, want) {
		t.Fatalf("languages: emails %v, rating page %v, want %v", letters, pages, want)
	}
}
