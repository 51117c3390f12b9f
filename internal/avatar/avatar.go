// Package avatar turns a photo a person uploads into the small square
// image Parley shows for them: decoded (PNG, JPEG or GIF), its centre
// cropped to a square, scaled to Size and encoded afresh as PNG. Nothing
// of the upload but its pixels is ever served: no metadata (a phone
// photo's location), no script smuggled in a file that is also HTML.
package avatar

import (
	"bytes"
	"image"
	_ "image/gif" // decoders for image.Decode
	_ "image/jpeg"
	"image/png"

	"golang.org/x/image/draw"

	"github.com/parleychat/parley"
)

// Size is the side, in pixels, of every photo served: twice the largest
// place it is shown (the widget's and console's 28–64 px), for sharp
// screens.
const Size = 128

// Limits on what is decoded: a photo is refused before decoding when its
// header says more pixels than MaxSide on a side (a small file can claim
// a huge image and ask for gigabytes), and when it is smaller than MinSide.
const (
	MaxSide = 4096
	MinSide = 16
)

// Normalise checks an uploaded photo and returns it as a Size×Size PNG.
// Anything but a PNG, JPEG or GIF image within the limits is EINVALID.
func Normalise(upload []byte) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(upload))
	if err != nil {
		return nil, parley.Errorf(parley.EINVALID, "the photo must be a PNG, JPEG or GIF image")
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide {
		return nil, parley.Errorf(parley.EINVALID, "the photo is %d×%d pixels; at most %d×%d", cfg.Width, cfg.Height, MaxSide, MaxSide)
	}
	if cfg.Width < MinSide || cfg.Height < MinSide {
		return nil, parley.Errorf(parley.EINVALID, "the photo is %d×%d pixels; at least %d×%d", cfg.Width, cfg.Height, MinSide, MinSide)
	}
	img, _, err := image.Decode(bytes.NewReader(upload))
	if err != nil {
		return nil, parley.Errorf(parley.EINVALID, "the photo could not be read: %v", err)
	}
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	if side < MinSide { // a frame smaller than its header said
		return nil, parley.Errorf(parley.EINVALID, "the photo is %d×%d pixels; at least %d×%d", b.Dx(), b.Dy(), MinSide, MinSide)
	}
	x, y := b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2
	square := image.NewNRGBA(image.Rect(0, 0, Size, Size))
	draw.CatmullRom.Scale(square, square.Bounds(), img, image.Rect(x, y, x+side, y+side), draw.Src, nil)
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, square); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
