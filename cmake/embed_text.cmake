# Writes OUTPUT: a C++ source defining `const char* SYMBOL` with the text of INPUT.
file(READ "${INPUT}" text)
file(WRITE "${OUTPUT}.tmp"
     "namespace wassally::embedded {\nextern const char* const ${SYMBOL};\n"
     "const char* const ${SYMBOL} = R\"wassally_text(${text})wassally_text\";\n}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
