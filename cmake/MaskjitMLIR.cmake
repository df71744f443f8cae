# Finds Debian's MLIR/LLVM 22 and makes every MLIR target link the static
# LLVM component libraries instead of libLLVM.so, so maskjit's binaries need
# only glibc and libstdc++ (they must run on the GPU machine, which has no
# LLVM). Debian's config links the LLVM dylib by default.
set(MASKJIT_LLVM_PREFIX "/usr/lib/llvm-22" CACHE PATH "LLVM/MLIR 22 install prefix")
list(APPEND CMAKE_MODULE_PATH "${MASKJIT_LLVM_PREFIX}/lib/cmake/llvm")
find_package(zstd QUIET) # LLVM's exported targets refer to zstd::libzstd_*.
find_package(MLIR REQUIRED CONFIG PATHS "${MASKJIT_LLVM_PREFIX}/lib/cmake/mlir"
             NO_DEFAULT_PATH)
message(STATUS "Using MLIR ${LLVM_PACKAGE_VERSION} from ${MLIR_CMAKE_DIR}")
list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
include(TableGen)
include(AddLLVM)
include(AddMLIR)

llvm_map_components_to_libnames(MASKJIT_LLVM_STATIC_LIBS
  support demangle remarks bitstreamreader targetparser core binaryformat)
foreach(target IN LISTS MLIR_EXPORTED_TARGETS)
  if(NOT TARGET ${target})
    continue()
  endif()
  get_target_property(libs ${target} INTERFACE_LINK_LIBRARIES)
  if(NOT libs)
    continue()
  endif()
  list(FIND libs LLVM index)
  if(index GREATER_EQUAL 0)
    list(REMOVE_AT libs ${index})
    list(INSERT libs ${index} ${MASKJIT_LLVM_STATIC_LIBS})
    set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${libs}")
  endif()
endforeach()

# MLIR headers are used as system headers (their warnings are not ours).
include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
add_definitions(${LLVM_DEFINITIONS})
if(NOT LLVM_ENABLE_RTTI)
  # MLIR is built without RTTI; code that subclasses its types must match.
  set(MASKJIT_NO_RTTI_FLAGS -fno-rtti)
endif()
