// How tests/data/cmyk_64x48.jpg was made: gcc make_cmyk_jpeg.c -ljpeg -o /tmp/mk && /tmp/mk cmyk_64x48.jpg
// Writes a 64x48 Adobe CMYK JPEG (inverted storage, as Photoshop writes it) of colour bands.
#include <stdio.h>
#include <jpeglib.h>
int main(int argc, char** argv) {
  struct jpeg_compress_struct c; struct jpeg_error_mgr e;
  c.err = jpeg_std_error(&e); jpeg_create_compress(&c);
  FILE* f = fopen(argv[1], "wb"); jpeg_stdio_dest(&c, f);
  c.image_width = 64; c.image_height = 48; c.input_components = 4; c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c); jpeg_set_quality(&c, 95, TRUE); c.write_Adobe_marker = TRUE;
  jpeg_start_compress(&c, TRUE);
  unsigned char row[64 * 4];
  for (int y = 0; y < 48; ++y) {
    for (int x = 0; x < 64; ++x) {
      int band = x / 16;  // cyan, magenta, yellow, black-ish, each with a vertical ramp
      unsigned char v = (unsigned char)(40 + y * 4);
      unsigned char cmyk[4] = {0, 0, 0, 0};
      cmyk[band] = v;
      if (band == 3) { cmyk[0] = 30; }
      for (int k = 0; k < 4; ++k) row[x * 4 + k] = 255 - cmyk[k];  // Adobe stores inverted CMYK
    }
    JSAMPROW r = row; jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c); fclose(f); return 0;
}
