package avatar_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/avatar"
)

// striped is w×h: red on the left quarter, blue on the right quarter,
// green between — a centre crop of a landscape photo is all green.
func striped(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{0, 200, 0, 255}
			if x < w/4 {
				c = color.RGBA{200, 0, 0, 255}
			} else if x >= w-w/4 {
				c = color.RGBA{0, 0, 200, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func encoded(t testing.TB, format string, img image.Image) []byte {
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPhotosBecomeSquarePNGs: a landscape PNG, JPEG or GIF comes out a
// Size×Size PNG of its centre (green at both edges, no red or blue).
func TestPhotosBecomeSquarePNGs(t *testing.T) {
	for _, format := range []string{"png", "jpeg", "gif"} {
		out, err := avatar.Normalise(encoded(t, format, striped(400, 200)))
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		img, err := png.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%s: the result is not a PNG: %v", format, err)
		}
		if b := img.Bounds(); b.Dx() != avatar.Size || b.Dy() != avatar.Size {
			t.Fatalf("%s: %v", format, b)
		}
		for _, x := range []int{0, avatar.Size / 2, avatar.Size - 1} {
			r, g, bl, _ := img.At(x, avatar.Size/2).RGBA()
			if g>>8 < 150 || r>>8 > 60 || bl>>8 > 60 {
				t.Fatalf("%s: pixel %d is %d,%d,%d; want the centre's green", format, x, r>>8, g>>8, bl>>8)
			}
		}
	}
}

// pngClaiming is a valid small PNG whose header says w×h.
func pngClaiming(t testing.TB, w, h uint32) []byte {
	b := encoded(t, "png", striped(16, 16))
	// The IHDR chunk: length (4), "IHDR" (4), width (4), height (4), …,
	// then its CRC over type and data (13 bytes).
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// TestWhatIsNotAPhotoIsRefused: text, HTML, a tiny image, and a small
// file whose header claims a giant image (refused before it is decoded).
func TestWhatIsNotAPhotoIsRefused(t *testing.T) {
	for name, c := range map[string]struct {
		upload []byte
		want   string
	}{
		"text":        {[]byte("just words"), "PNG, JPEG or GIF"},
		"html":        {[]byte("<html><script>alert(1)</script></html>"), "PNG, JPEG or GIF"},
		"empty":       {nil, "PNG, JPEG or GIF"},
		"tiny":        {encoded(t, "png", striped(8, 8)), "at least 16×16"},
		"a giant":     {pngClaiming(t, 100000, 100000), "100000×100000 pixels; at most 4096×4096"},
		"truncated":   {encoded(t, "png", striped(64, 64))[:60], "could not be read"},
		"lies (tall)": {pngClaiming(t, 16, 5000), "at most"},
	} {
		_, err := avatar.Normalise(c.upload)
		if parley.ErrorCode(err) != parley.EINVALID || !strings.Contains(parley.ErrorMessage(err), c.want) {
			t.Errorf("%s: %v; want invalid, %q", name, err, c.want)
		}
	}
}

// FuzzNormalise: whatever is uploaded, Normalise never panics, and what
// it accepts comes out a Size×Size PNG.
func FuzzNormalise(f *testing.F) {
	f.Add(encoded(f, "png", striped(40, 20)))
	f.Add(encoded(f, "gif", striped(20, 40)))
	f.Add(encoded(f, "jpeg", striped(32, 32)))
	f.Add(pngClaiming(f, 5000, 16))
	f.Fuzz(func(t *testing.T, upload []byte) {
		out, err := avatar.Normalise(upload)
		if err != nil {
			if parley.ErrorCode(err) != parley.EINVALID {
				t.Fatalf("%v", err)
			}
			return
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(out))
		if err != nil || cfg.Width != avatar.Size || cfg.Height != avatar.Size {
			t.Fatalf("accepted, and gave %+v, %v", cfg, err)
		}
	})
}
