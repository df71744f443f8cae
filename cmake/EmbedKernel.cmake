# maskjit_read_kernel(<var> <file>): the text of a kernel source with each
# line `#include "<path>"` (relative to the file's folder) replaced by that
# file's text, recursively: the kernels are split into files by role
# (traits, primitives, producer, mask, softmax, epilogue, main loops) and
# embedded in the library as one source for NVRTC. Every file read is a
# configure dependency.
function(maskjit_read_kernel out file)
  file(READ ${file} text)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  get_filename_component(dir ${file} DIRECTORY)
  string(REGEX MATCHALL "#include \"[A-Za-z0-9_./]+\"\n" includes "${text}")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "#include \"([A-Za-z0-9_./]+)\"\n" "\\1" name "${line}")
    if(NOT EXISTS ${dir}/${name})
      message(FATAL_ERROR "${file}: included ${name} does not exist")
    endif()
    maskjit_read_kernel(part ${dir}/${name})
    string(REPLACE "${line}" "${part}" text "${text}")
  endforeach()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()
