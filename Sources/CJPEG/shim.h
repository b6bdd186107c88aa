// libjpeg (libjpeg-turbo's libjpeg62 API) behind one function, because libjpeg reports errors
// by calling a handler that must not return: here it jumps back to the caller, which Swift
// cannot do itself.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

struct hygie_jpeg_error {
    struct jpeg_error_mgr manager;
    jmp_buf back;
};

static void hygie_jpeg_fail(j_common_ptr info) {
    longjmp(((struct hygie_jpeg_error *)info->err)->back, 1);
}

/// Encodes 8-bit gray (components 1) or RGB (components 3) pixels, rows top to bottom, as a
/// baseline JPEG. On success returns 0 and sets *output (free() it) and *size.
static inline int hygie_jpeg_encode(const unsigned char *pixels, int width, int height, int components, int quality,
                                    unsigned char **output, unsigned long *size) {
    struct jpeg_compress_struct info;
    struct hygie_jpeg_error error;
    *output = NULL;
    *size = 0;
    info.err = jpeg_std_error(&error.manager);
    error.manager.error_exit = hygie_jpeg_fail;
    if (setjmp(error.back)) {
        jpeg_destroy_compress(&info);
        if (*output) { free(*output); *output = NULL; }
        return -1;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, output, size);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = components;
    info.in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.next_scanline * (size_t)width * (size_t)components);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    return 0;
}
