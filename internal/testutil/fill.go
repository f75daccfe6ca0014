package testutil

import "reflect"

// Fill sets every field of v, through every struct, pointer, slice and
// map, to a value that is not empty: a test that compares two encoders
// of a type then covers a field added to it later without being told.
// Strings are "s", numbers small and positive, bools true, slices and
// maps of one element (a free-form map's value is "v").
func Fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			Fill(v.Field(i))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		Fill(v.Elem())
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(3)
	case reflect.Uint64, reflect.Uint8:
		v.SetUint(5)
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		Fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		if e.Kind() == reflect.Interface {
			e.Set(reflect.ValueOf("v"))
		} else {
			Fill(e)
		}
		m.SetMapIndex(reflect.ValueOf("k"), e)
		v.Set(m)
	default:
		panic("testutil.Fill: no value for " + v.Type().String())
	}
}
