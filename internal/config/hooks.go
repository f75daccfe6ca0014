package config

import (
	"fmt"
	"reflect"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

var (
	durationType = reflect.TypeOf(time.Duration(0))
	byteSizeType = reflect.TypeOf(ByteSize(0))
)

// decodeHook replaces viper's default hooks, which would read a bare number
// as nanoseconds ("timeout: 10" becoming 10ns is never what was meant).
func decodeHook() mapstructure.DecodeHookFunc {
	return mapstructure.ComposeDecodeHookFunc(
		durationHook,
		byteSizeHook,
		mapstructure.StringToSliceHookFunc(","),
	)
}

func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType || from == durationType {
		return data, nil
	}
	s, ok := data.(string)
	if !ok {
		return nil, fmt.Errorf("duration %v has no unit: write it as a Go duration such as \"10s\", \"1m30s\" or \"500ms\"", data)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf("duration %q: write it as a Go duration such as \"10s\", \"1m30s\" or \"500ms\"", s)
	}
	return d, nil
}

func byteSizeHook(from, to reflect.Type, data any) (any, error) {
	if to != byteSizeType || from == byteSizeType {
		return data, nil
	}
	if s, ok := data.(string); ok {
		return ParseByteSize(s)
	}
	return data, nil
}
