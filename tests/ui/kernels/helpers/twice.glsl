// Included by include_error.comp: uses a name nobody declares.
float twice(float x) {
    return x * factor;
}
