! sharc: the Fortran module, written with ISO_C_BINDING over the C API.
!
! Shipped as source: compile it with your own compiler (a .mod file only
! suits the compiler and version that wrote it), then link libsharc:
!
!   gfortran -c $(pkg-config --variable=fortran_source sharc)
!   gfortran prog.f90 sharc.o $(pkg-config --libs sharc)
!
! or, with CMake: find_package(sharc CONFIG) and add ${sharc_FORTRAN_SOURCE}
! to the program's sources.
!
! Handles (pools, arrays, job options, tasks) are type(c_ptr). Functions
! return 0 or a negative sharc code (sharcf_strerror names it).
!
! Arrays are seen from Fortran through c_f_pointer, in place (never
! copied): sharcf_view(a, x) points x at the array's data with the shape
! Fortran sees. Arrays made here (sharcf_array_create, sharcf_npy_create)
! are in Fortran (column-major) order with the shape given, so NumPy sees
! the same shape; a C-order array of NumPy shape (d1, ..., dk) is seen as
! (dk, ..., d1). A rank-1 view sees every element, in memory order.
!
! Kernels: a C function registered by name (SHARC_KERNEL) or a Fortran
! function with this interface, registered before the pool is made with
! sharcf_kernel_register('name', c_funloc(fn)):
!
!   integer(c_int) function fn(t, begin, end) bind(C)
!     type(c_ptr), value :: t
!     integer(c_int64_t), value :: begin, end
!
! The range is 0-based and half-open, [begin, end): 1-based elements
! begin+1 .. end. Inside, sharcf_task_view(t, i, x) gives the job's i-th
! array (i from 0, in sharcf_job_add order) as a rank-1 view.
module sharc
  use, intrinsic :: iso_c_binding
  implicit none
  private

  ! dtypes: the order of SHARC_DTYPE_MAP in sharc/array.h.
  integer(c_int), parameter, public :: SHARC_BOOL = 0, SHARC_I8 = 1, &
       SHARC_I16 = 2, SHARC_I32 = 3, SHARC_I64 = 4, SHARC_U8 = 5, &
       SHARC_U16 = 6, SHARC_U32 = 7, SHARC_U64 = 8, SHARC_F32 = 9, &
       SHARC_F64 = 10, SHARC_C64 = 11, SHARC_C128 = 12
  ! open flags
  integer(c_int), parameter, public :: SHARC_READ = 1, SHARC_RDWR = 2, &
       SHARC_CREATE = 4
  ! sharc's own error codes (sharc/error.h); the others are negated errno
  integer(c_int), parameter, public :: SHARC_EINVAL = -22, &
       SHARC_ERANGE = -34, SHARC_EFORMAT = -3001, SHARC_EDTYPE = -3002, &
       SHARC_ENOKERNEL = -3003, SHARC_EWORKER = -3004, &
       SHARC_ECORRUPT = -3005, SHARC_EKERNEL = -3006, &
       SHARC_EQUARANTINED = -3008, SHARC_ECANCELED = -3009

  ! --- the C API, as it is ------------------------------------------------
  public :: sharc_pool_destroy, sharc_pool_size, sharc_array_destroy, &
       sharc_array_data, sharc_array_size, sharc_array_ndim, &
       sharc_array_dtype, sharc_array_fortran_order, sharc_array_commit, &
       sharc_job_opts_free, sharc_job_opts_add_array, sharc_task_array, &
       sharc_task_array_size, sharc_task_args, sharc_task_n, &
       sharc_task_worker, sharc_task_nworkers, sharc_dtype_parse

  interface
    subroutine sharc_pool_destroy(pool) bind(C, name='sharc_pool_destroy')
      import :: c_ptr
      type(c_ptr), value :: pool
    end subroutine
    integer(c_int) function sharc_pool_size(pool) bind(C, name='sharc_pool_size')
      import :: c_ptr, c_int
      type(c_ptr), value :: pool
    end function
    integer(c_int) function c_pool_create_workers(out, workers, msg, msglen) &
         bind(C, name='sharc_pool_create_workers')
      import :: c_ptr, c_int, c_char, c_size_t
      type(c_ptr), intent(out) :: out
      integer(c_int), value :: workers
      character(kind=c_char), dimension(*), intent(out) :: msg
      integer(c_size_t), value :: msglen
    end function
    type(c_ptr) function c_pool_errmsg(pool) bind(C, name='sharc_pool_errmsg')
      import :: c_ptr
      type(c_ptr), value :: pool
    end function
    integer(c_int) function c_array_create(pool, dt, ndim, shape, opts, out) &
         bind(C, name='sharc_array_create')
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: pool
      integer(c_int), value :: dt, ndim
      integer(c_int64_t), dimension(*), intent(in) :: shape
      type(c_ptr), value :: opts
      type(c_ptr), intent(out) :: out
    end function
    integer(c_int) function c_array_open_npy(pool, path, flags, out) &
         bind(C, name='sharc_array_open_npy')
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: pool
      character(kind=c_char), dimension(*), intent(in) :: path
      integer(c_int), value :: flags
      type(c_ptr), intent(out) :: out
    end function
    integer(c_int) function c_array_create_npy(pool, path, dt, ndim, shape, &
         fortran_order, out) bind(C, name='sharc_array_create_npy')
      import :: c_ptr, c_int, c_char, c_int64_t
      type(c_ptr), value :: pool
      character(kind=c_char), dimension(*), intent(in) :: path
      integer(c_int), value :: dt, ndim
      integer(c_int64_t), dimension(*), intent(in) :: shape
      integer(c_int), value :: fortran_order
      type(c_ptr), intent(out) :: out
    end function
    integer(c_int) function sharc_array_commit(a) bind(C, name='sharc_array_commit')
      import :: c_ptr, c_int
      type(c_ptr), value :: a
    end function
    subroutine sharc_array_destroy(a) bind(C, name='sharc_array_destroy')
      import :: c_ptr
      type(c_ptr), value :: a
    end subroutine
    type(c_ptr) function sharc_array_data(a) bind(C, name='sharc_array_data')
      import :: c_ptr
      type(c_ptr), value :: a
    end function
    integer(c_int64_t) function sharc_array_size(a) bind(C, name='sharc_array_size')
      import :: c_ptr, c_int64_t
      type(c_ptr), value :: a
    end function
    integer(c_int) function sharc_array_ndim(a) bind(C, name='sharc_array_ndim')
      import :: c_ptr, c_int
      type(c_ptr), value :: a
    end function
    integer(c_int) function sharc_array_dtype(a) bind(C, name='sharc_array_dtype')
      import :: c_ptr, c_int
      type(c_ptr), value :: a
    end function
    type(c_ptr) function c_array_shape(a) bind(C, name='sharc_array_shape')
      import :: c_ptr
      type(c_ptr), value :: a
    end function
    integer(c_int) function sharc_array_fortran_order(a) &
         bind(C, name='sharc_array_fortran_order')
      import :: c_ptr, c_int
      type(c_ptr), value :: a
    end function
    type(c_ptr) function c_job_opts_new() bind(C, name='sharc_job_opts_new')
      import :: c_ptr
    end function
    subroutine sharc_job_opts_free(o) bind(C, name='sharc_job_opts_free')
      import :: c_ptr
      type(c_ptr), value :: o
    end subroutine
    integer(c_int) function c_job_opts_set_args(o, args, len) &
         bind(C, name='sharc_job_opts_set_args')
      import :: c_ptr, c_int, c_size_t
      type(c_ptr), value :: o, args
      integer(c_size_t), value :: len
    end function
    integer(c_int) function c_job_opts_set_schedule(o, text) &
         bind(C, name='sharc_job_opts_set_schedule')
      import :: c_ptr, c_int, c_char
      type(c_ptr), value :: o
      character(kind=c_char), dimension(*), intent(in) :: text
    end function
    integer(c_int) function sharc_job_opts_add_array(o, a) &
         bind(C, name='sharc_job_opts_add_array')
      import :: c_ptr, c_int
      type(c_ptr), value :: o, a
    end function
    integer(c_int) function c_run(pool, kernel, n, opts, rep) bind(C, name='sharc_run')
      import :: c_ptr, c_int, c_char, c_int64_t
      type(c_ptr), value :: pool
      character(kind=c_char), dimension(*), intent(in) :: kernel
      integer(c_int64_t), value :: n
      type(c_ptr), value :: opts, rep
    end function
    integer(c_int) function c_kernel_register(name, fn) &
         bind(C, name='sharc_kernel_register')
      import :: c_int, c_char, c_funptr
      character(kind=c_char), dimension(*), intent(in) :: name
      type(c_funptr), value :: fn
    end function
    type(c_ptr) function sharc_task_array(t, i) bind(C, name='sharc_task_array')
      import :: c_ptr, c_int
      type(c_ptr), value :: t
      integer(c_int), value :: i
    end function
    integer(c_int64_t) function sharc_task_array_size(t, i) &
         bind(C, name='sharc_task_array_size')
      import :: c_ptr, c_int, c_int64_t
      type(c_ptr), value :: t
      integer(c_int), value :: i
    end function
    integer(c_int) function c_task_array_dtype(t, i) &
         bind(C, name='sharc_task_array_dtype')
      import :: c_ptr, c_int
      type(c_ptr), value :: t
      integer(c_int), value :: i
    end function
    type(c_ptr) function sharc_task_args(t, len) bind(C, name='sharc_task_args')
      import :: c_ptr
      type(c_ptr), value :: t, len
    end function
    integer(c_int64_t) function sharc_task_n(t) bind(C, name='sharc_task_n')
      import :: c_ptr, c_int64_t
      type(c_ptr), value :: t
    end function
    integer(c_int) function sharc_task_worker(t) bind(C, name='sharc_task_worker')
      import :: c_ptr, c_int
      type(c_ptr), value :: t
    end function
    integer(c_int) function sharc_task_nworkers(t) bind(C, name='sharc_task_nworkers')
      import :: c_ptr, c_int
      type(c_ptr), value :: t
    end function
    integer(c_int) function sharc_dtype_parse(name, out) bind(C, name='sharc_dtype_parse')
      import :: c_int, c_char
      character(kind=c_char), dimension(*), intent(in) :: name
      integer(c_int), intent(out) :: out
    end function
    type(c_ptr) function c_strerror(code) bind(C, name='sharc_strerror')
      import :: c_ptr, c_int
      integer(c_int), value :: code
    end function
    type(c_ptr) function c_version() bind(C, name='sharc_version')
      import :: c_ptr
    end function
    integer(c_size_t) function c_strlen(s) bind(C, name='strlen')
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
    end function
  end interface

  ! --- the Fortran way --------------------------------------------------------
  public :: sharcf_pool_create, sharcf_pool_errmsg, sharcf_array_create, &
       sharcf_npy_open, sharcf_npy_create, sharcf_shape, sharcf_view, &
       sharcf_task_view, sharcf_job_new, sharcf_job_add, sharcf_job_args, &
       sharcf_job_schedule, sharcf_run, sharcf_kernel_register, &
       sharcf_strerror, sharcf_version

  ! sharcf_view(a, x [, stat]): x points at array a's data, in place.
  interface sharcf_view
    module procedure view_f64_1, view_f64_2, view_f64_3, view_f32_1, &
         view_f32_2, view_i32_1, view_i32_2, view_i64_1, view_i64_2
  end interface
  ! sharcf_task_view(t, i, x [, stat]): inside a kernel, the job's i-th
  ! array as a rank-1 view.
  interface sharcf_task_view
    module procedure task_view_f64, task_view_f32, task_view_i32, task_view_i64
  end interface

contains

  ! A Fortran string as a NUL-terminated C string.
  pure function c_str(s) result(r)
    character(len=*), intent(in) :: s
    character(kind=c_char, len=len_trim(s) + 1) :: r
    r = trim(s) // c_null_char
  end function

  ! A NUL-terminated C string (static or owned by the library) as Fortran.
  function f_str(p) result(r)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: r
    character(kind=c_char), pointer :: chars(:)
    integer :: i, n
    if (.not. c_associated(p)) then
      r = ''
      return
    end if
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate(character(len=n) :: r)
    do i = 1, n
      r(i:i) = chars(i)
    end do
  end function

  ! Starts a pool of `workers` worker processes (0: one per usable PU).
  ! Register Fortran kernels before calling it. errmsg, if given, explains
  ! a failure.
  integer(c_int) function sharcf_pool_create(pool, workers, errmsg) result(rc)
    type(c_ptr), intent(out) :: pool
    integer, intent(in) :: workers
    character(len=*), intent(out), optional :: errmsg
    character(kind=c_char) :: msg(256)
    integer :: i
    msg = c_null_char
    rc = c_pool_create_workers(pool, int(workers, c_int), msg, &
         int(size(msg), c_size_t))
    if (present(errmsg)) then
      errmsg = ''
      do i = 1, min(len(errmsg), size(msg))
        if (msg(i) == c_null_char) exit
        errmsg(i:i) = msg(i)
      end do
    end if
  end function

  ! The message for the pool's last failing call.
  function sharcf_pool_errmsg(pool) result(r)
    type(c_ptr), intent(in) :: pool
    character(len=:), allocatable :: r
    r = f_str(c_pool_errmsg(pool))
  end function

  ! The shape as C gives it, reversed to Fortran's view of a C-order
  ! array.
  function sharcf_shape(a) result(shp)
    type(c_ptr), intent(in) :: a
    integer(c_int64_t), allocatable :: shp(:)
    integer(c_int64_t), pointer :: cshape(:)
    integer :: nd
    nd = sharc_array_ndim(a)
    allocate(shp(nd))
    if (nd == 0) return
    call c_f_pointer(c_array_shape(a), cshape, [nd])
    if (sharc_array_fortran_order(a) /= 0) then
      shp = cshape
    else
      shp = cshape(nd:1:-1)
    end if
  end function

  ! A zero-filled shared array of dtype dt and shape shp (as Fortran sees
  ! it), in Fortran order; c_order = .true. makes a C-order array whose
  ! NumPy shape is shp reversed (Fortran still sees shp). backing: the
  ! default anonymous memfd.
  integer(c_int) function sharcf_array_create(pool, dt, shp, a, c_order) result(rc)
    type(c_ptr), intent(in) :: pool
    integer(c_int), intent(in) :: dt
    integer(c_int64_t), intent(in) :: shp(:)
    type(c_ptr), intent(out) :: a
    logical, intent(in), optional :: c_order
    type, bind(C) :: array_opts   ! sharc_array_opts: size, backing, fortran_order
      integer(c_size_t) :: size
      integer(c_int) :: backing
      integer(c_int) :: fortran_order
    end type
    type(array_opts), target :: o
    integer(c_int64_t) :: cshape(max(1, size(shp)))
    logical :: corder
    corder = .false.
    if (present(c_order)) corder = c_order
    o%size = c_sizeof(o)     ! checked by the library
    o%backing = 0
    o%fortran_order = merge(0, 1, corder)
    if (size(shp) > 0) cshape(1:size(shp)) = shp
    if (corder .and. size(shp) > 0) cshape(1:size(shp)) = shp(size(shp):1:-1)
    rc = c_array_create(pool, dt, int(size(shp), c_int), cshape, c_loc(o), a)
  end function

  ! Maps a NumPy .npy file in place (SHARC_READ or SHARC_RDWR). A
  ! Fortran-order file is seen with its own shape, without any copy.
  integer(c_int) function sharcf_npy_open(pool, path, flags, a) result(rc)
    type(c_ptr), intent(in) :: pool
    character(len=*), intent(in) :: path
    integer(c_int), intent(in) :: flags
    type(c_ptr), intent(out) :: a
    rc = c_array_open_npy(pool, c_str(path), flags, a)
  end function

  ! Creates a Fortran-order .npy file of dtype dt and shape shp for output;
  ! sharc_array_commit(a) makes it appear at path (see sharc/array.h).
  integer(c_int) function sharcf_npy_create(pool, path, dt, shp, a) result(rc)
    type(c_ptr), intent(in) :: pool
    character(len=*), intent(in) :: path
    integer(c_int), intent(in) :: dt
    integer(c_int64_t), intent(in) :: shp(:)
    type(c_ptr), intent(out) :: a
    integer(c_int64_t) :: cshape(max(1, size(shp)))
    if (size(shp) > 0) cshape(1:size(shp)) = shp
    rc = c_array_create_npy(pool, c_str(path), dt, int(size(shp), c_int), &
         cshape, 1_c_int, a)
  end function

  ! Checks that a has dtype dt and, for rank > 1, that rank; gives the
  ! shape a rank-`rank` view has (a rank-1 view: every element).
  subroutine view_shape(a, dt, rank, shp, stat)
    type(c_ptr), intent(in) :: a
    integer(c_int), intent(in) :: dt
    integer, intent(in) :: rank
    integer(c_int64_t), intent(out) :: shp(rank)
    integer(c_int), intent(out) :: stat
    stat = 0
    if (sharc_array_dtype(a) /= dt) then
      stat = SHARC_EDTYPE
    else if (rank == 1) then
      shp(1) = sharc_array_size(a)
    else if (sharc_array_ndim(a) /= rank) then
      stat = SHARC_EINVAL
    else
      shp = sharcf_shape(a)
    end if
  end subroutine

  subroutine set_stat(rc, stat)
    integer(c_int), intent(in) :: rc
    integer, intent(out), optional :: stat
    if (present(stat)) then
      stat = rc
    else if (rc /= 0) then
      error stop 'sharcf_view: the array is not of this type and rank'
    end if
  end subroutine

  subroutine view_f64_1(a, x, stat)
    type(c_ptr), intent(in) :: a
    real(c_double), pointer, intent(out) :: x(:)
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: shp(1)
    integer(c_int) :: rc
    nullify(x)
    call view_shape(a, SHARC_F64, 1, shp, rc)
    if (rc == 0) call c_f_pointer(sharc_array_data(a), x, shp)
    call set_stat(rc, stat)
  end subroutine
  subroutine view_f64_2(a, x, stat)
    type(c_ptr), intent(in) :: a
    real(c_double), pointer, intent(out) :: x(:, :)
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: shp(2)
    integer(c_int) :: rc
    nullify(x)
    call view_shape(a, SHARC_F64, 2, shp, rc)
    if (rc == 0) call c_f_pointer(sharc_array_data(a), x, shp)
    call set_stat(rc, stat)
  end subroutine
  subroutine view_f64_3(a, x, stat)
    type(c_ptr), intent(in) :: a
    real(c_double), pointer, intent(out) :: x(:, :, :)
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: shp(3)
    integer(c_int) :: rc
    nullify(x)
    call view_shape(a, SHARC_F64, 3, shp, rc)
    if (rc == 0) call c_f_pointer(sharc_array_data(a), x, shp)
    call set_stat(rc, stat)
  end subroutine
  subroutine view_f32_1(a, x, stat)
    type(c_ptr), intent(in) :: a
    real(c_float), pointer, intent(out) :: x(:)
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: shp(1)
    integer(c_int) :: rc
    nullify(x)
    call view_shape(a, SHARC_F32, 1, shp, rc)
    if (rc == 0) call c_f_pointer(sharc_array_data(a), x, shp)
    call set_stat(rc, stat)
  end subroutine
  subroutine view_f32_2(a, x, stat)
    type(c_ptr), intent(in) :: a
    real(c_float), pointer, intent(out) :: x(:, :)
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: shp(2)
    integer(c_int) :: rc
    nullify(x)
    call view_shape(a, SHARC_F32, 2, shp, rc)
    if (rc == 0) call c_f_pointer(sharc_array_data(a), x, shp)
    call set_stat(rc, stat)
  end subroutine
  subroutine view_i32_1(a, x, stat)
    type(c_ptr), intent(in) :: a
    integer(c_int32_t), pointer, intent(out) :: x(:)
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: shp(1)
    integer(c_int) :: rc
    nullify(x)
    call view_shape(a, SHARC_I32, 1, shp, rc)
    if (rc == 0) call c_f_pointer(sharc_array_data(a), x, shp)
    call set_stat(rc, stat)
  end subroutine
  subroutine view_i32_2(a, x, stat)
    type(c_ptr), intent(in) :: a
    integer(c_int32_t), pointer, intent(out) :: x(:, :)
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: shp(2)
    integer(c_int) :: rc
    nullify(x)
    call view_shape(a, SHARC_I32, 2, shp, rc)
    if (rc == 0) call c_f_pointer(sharc_array_data(a), x, shp)
    call set_stat(rc, stat)
  end subroutine
  subroutine view_i64_1(a, x, stat)
    type(c_ptr), intent(in) :: a
    integer(c_int64_t), pointer, intent(out) :: x(:)
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: shp(1)
    integer(c_int) :: rc
    nullify(x)
    call view_shape(a, SHARC_I64, 1, shp, rc)
    if (rc == 0) call c_f_pointer(sharc_array_data(a), x, shp)
    call set_stat(rc, stat)
  end subroutine
  subroutine view_i64_2(a, x, stat)
    type(c_ptr), intent(in) :: a
    integer(c_int64_t), pointer, intent(out) :: x(:, :)
    integer, intent(out), optional :: stat
    integer(c_int64_t) :: shp(2)
    integer(c_int) :: rc
    nullify(x)
    call view_shape(a, SHARC_I64, 2, shp, rc)
    if (rc == 0) call c_f_pointer(sharc_array_data(a), x, shp)
    call set_stat(rc, stat)
  end subroutine

  ! Inside a kernel: the job's i-th array (from 0) as a rank-1 view of
  ! every element; stat SHARC_EDTYPE (and x null) for another dtype or no
  ! such array. Makes no system call.
  integer(c_int) function task_check(t, i, dt) result(rc)
    type(c_ptr), intent(in) :: t
    integer, intent(in) :: i
    integer(c_int), intent(in) :: dt
    rc = 0
    if (.not. c_associated(sharc_task_array(t, int(i, c_int))) .or. &
         c_task_array_dtype(t, int(i, c_int)) /= dt) rc = SHARC_EDTYPE
  end function
  subroutine task_view_f64(t, i, x, stat)
    type(c_ptr), intent(in) :: t
    integer, intent(in) :: i
    real(c_double), pointer, intent(out) :: x(:)
    integer, intent(out), optional :: stat
    integer(c_int) :: rc
    nullify(x)
    rc = task_check(t, i, SHARC_F64)
    if (rc == 0) call c_f_pointer(sharc_task_array(t, int(i, c_int)), x, &
         [sharc_task_array_size(t, int(i, c_int))])
    call set_stat(rc, stat)
  end subroutine
  subroutine task_view_f32(t, i, x, stat)
    type(c_ptr), intent(in) :: t
    integer, intent(in) :: i
    real(c_float), pointer, intent(out) :: x(:)
    integer, intent(out), optional :: stat
    integer(c_int) :: rc
    nullify(x)
    rc = task_check(t, i, SHARC_F32)
    if (rc == 0) call c_f_pointer(sharc_task_array(t, int(i, c_int)), x, &
         [sharc_task_array_size(t, int(i, c_int))])
    call set_stat(rc, stat)
  end subroutine
  subroutine task_view_i32(t, i, x, stat)
    type(c_ptr), intent(in) :: t
    integer, intent(in) :: i
    integer(c_int32_t), pointer, intent(out) :: x(:)
    integer, intent(out), optional :: stat
    integer(c_int) :: rc
    nullify(x)
    rc = task_check(t, i, SHARC_I32)
    if (rc == 0) call c_f_pointer(sharc_task_array(t, int(i, c_int)), x, &
         [sharc_task_array_size(t, int(i, c_int))])
    call set_stat(rc, stat)
  end subroutine
  subroutine task_view_i64(t, i, x, stat)
    type(c_ptr), intent(in) :: t
    integer, intent(in) :: i
    integer(c_int64_t), pointer, intent(out) :: x(:)
    integer, intent(out), optional :: stat
    integer(c_int) :: rc
    nullify(x)
    rc = task_check(t, i, SHARC_I64)
    if (rc == 0) call c_f_pointer(sharc_task_array(t, int(i, c_int)), x, &
         [sharc_task_array_size(t, int(i, c_int))])
    call set_stat(rc, stat)
  end subroutine

  ! Job options (the defaults: the adaptive schedule, no arguments);
  ! release with sharc_job_opts_free(job). c_null_ptr when out of memory.
  type(c_ptr) function sharcf_job_new() result(job)
    job = c_job_opts_new()
  end function

  ! Adds array a to the job: the kernel's array number is the result
  ! (0, 1, ...), or a negative code.
  integer(c_int) function sharcf_job_add(job, a) result(rc)
    type(c_ptr), intent(in) :: job, a
    rc = sharc_job_opts_add_array(job, a)
  end function

  ! The kernel's argument bytes: args = c_loc(x) of a bind(C) variable x
  ! with the target attribute, nbytes = c_sizeof(x). Not copied here: x
  ! must live until sharcf_run returns.
  integer(c_int) function sharcf_job_args(job, args, nbytes) result(rc)
    type(c_ptr), intent(in) :: job, args
    integer(c_size_t), intent(in) :: nbytes
    rc = c_job_opts_set_args(job, args, nbytes)
  end function

  ! The schedule: 'auto' (the default), 'dynamic:64', 'static', ...
  integer(c_int) function sharcf_job_schedule(job, text) result(rc)
    type(c_ptr), intent(in) :: job
    character(len=*), intent(in) :: text
    rc = c_job_opts_set_schedule(job, c_str(text))
  end function

  ! Runs the kernel registered as `kernel` over the indices [0, n) and
  ! waits. job may be c_null_ptr (defaults, no arrays).
  integer(c_int) function sharcf_run(pool, kernel, n, job) result(rc)
    type(c_ptr), intent(in) :: pool, job
    character(len=*), intent(in) :: kernel
    integer(c_int64_t), intent(in) :: n
    rc = c_run(pool, c_str(kernel), n, job, c_null_ptr)
  end function

  ! Registers a kernel (c_funloc of a bind(C) function with the kernel
  ! interface above) under name, before the pool is made.
  integer(c_int) function sharcf_kernel_register(name, fn) result(rc)
    character(len=*), intent(in) :: name
    ! By value: a c_funloc() argument passed by reference would be a
    ! constant in read-only data needing a text relocation in a PIE.
    type(c_funptr), value :: fn
    rc = c_kernel_register(c_str(name), fn)
  end function

  ! The description of a sharc code.
  function sharcf_strerror(code) result(r)
    integer(c_int), intent(in) :: code
    character(len=:), allocatable :: r
    r = f_str(c_strerror(code))
  end function

  ! The library's version, "MAJOR.MINOR.PATCH".
  function sharcf_version() result(r)
    character(len=:), allocatable :: r
    r = f_str(c_version())
  end function

end module sharc
