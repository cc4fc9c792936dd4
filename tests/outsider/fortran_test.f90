! The Fortran module (fortran/sharc.f90) against the installed library:
! its constants agree with the library, arrays are seen in Fortran order
! without copies, Fortran-order .npy files map to Fortran arrays in place,
! and kernels written in Fortran and in C run on them.
!
! usage: fortran_test WORK_DIR (a directory for .npy files)
module test_kernels
  use, intrinsic :: iso_c_binding
  use sharc
  implicit none
contains
  ! y(k) = 2 x(k), element by element in memory order
  integer(c_int) function twice(t, begin, end) bind(C)
    type(c_ptr), value :: t
    integer(c_int64_t), value :: begin, end
    real(c_double), pointer :: x(:), y(:)
    integer :: stat
    call sharcf_task_view(t, 0, x, stat)
    if (stat /= 0) then
      twice = stat
      return
    end if
    call sharcf_task_view(t, 1, y, stat)
    if (stat /= 0) then
      twice = stat
      return
    end if
    y(begin + 1:end) = 2 * x(begin + 1:end)
    twice = 0
  end function
end module test_kernels

program fortran_test
  use, intrinsic :: iso_c_binding
  use sharc
  use test_kernels
  implicit none
  integer :: passed = 0, failed = 0
  type(c_ptr) :: pool, fa, ca, ya, na, job
  real(c_double), pointer :: x(:, :), flat(:), c2(:, :), y(:, :), m(:, :)
  integer(c_int32_t), pointer :: wrongtype(:)
  real(c_double), target :: want(3, 4)
  real(c_double) :: disk(12)
  integer(c_int) :: rc, dt
  integer :: i, j, stat, unit, fsize
  character(len=512) :: dir
  character(len=:), allocatable :: path
  character(len=256) :: msg

  call get_command_argument(1, dir)
  path = trim(dir) // '/fortran-order.npy'

  ! 1. The module's constants are the library's.
  call check_dtype('bool', SHARC_BOOL)
  call check_dtype('int8', SHARC_I8)
  call check_dtype('int16', SHARC_I16)
  call check_dtype('int32', SHARC_I32)
  call check_dtype('int64', SHARC_I64)
  call check_dtype('uint8', SHARC_U8)
  call check_dtype('uint16', SHARC_U16)
  call check_dtype('uint32', SHARC_U32)
  call check_dtype('uint64', SHARC_U64)
  call check_dtype('float32', SHARC_F32)
  call check_dtype('float64', SHARC_F64)
  call check_dtype('complex64', SHARC_C64)
  call check_dtype('complex128', SHARC_C128)
  call expect(sharcf_strerror(SHARC_EDTYPE) == 'unsupported dtype', &
       'sharcf_strerror(SHARC_EDTYPE) is the library''s message')
  call expect(len(sharcf_version()) > 0, 'sharcf_version is not empty')

  ! 2. Kernels are registered before the pool starts.
  call expect(sharcf_kernel_register('twice', c_funloc(twice)) == 0, &
       'a Fortran kernel registers')
  rc = sharcf_pool_create(pool, 2, msg)
  call expect(rc == 0, 'a pool of 2 workers starts: ' // trim(msg))
  if (rc /= 0) call finish()
  call expect(sharc_pool_size(pool) == 2, 'the pool has 2 workers')

  do j = 1, 4
    do i = 1, 3
      want(i, j) = 10 * i + j
    end do
  end do

  ! 3. A Fortran-order array: the shape as given, column-major memory.
  rc = sharcf_array_create(pool, SHARC_F64, [3_c_int64_t, 4_c_int64_t], fa)
  call expect(rc == 0, 'a 3x4 float64 array is created')
  call expect(sharc_array_fortran_order(fa) == 1, 'it is in Fortran order')
  call expect(all(sharcf_shape(fa) == [3, 4]), 'Fortran sees shape (3, 4)')
  call sharcf_view(fa, x)
  call sharcf_view(fa, flat)
  call expect(all(shape(x) == [3, 4]) .and. size(flat) == 12, &
       'the views have shapes (3, 4) and (12)')
  x = want
  call expect(flat(2) == 21 .and. flat(4) == 12, &
       'x(2,1) and x(1,2) are the 2nd and 4th elements in memory')
  call expect(c_associated(c_loc(x(1, 1)), sharc_array_data(fa)), &
       'the view is the shared data itself, not a copy')
  call sharcf_view(fa, wrongtype, stat)
  call expect(stat == SHARC_EDTYPE .and. .not. associated(wrongtype), &
       'an int32 view of a float64 array is refused')

  ! 4. A C-order array is seen with its shape reversed.
  rc = sharcf_array_create(pool, SHARC_F64, [4_c_int64_t, 3_c_int64_t], ca, &
       c_order=.true.)
  call expect(rc == 0 .and. sharc_array_fortran_order(ca) == 0, &
       'a C-order array is created')
  call sharcf_view(ca, c2)
  call expect(all(shape(c2) == [4, 3]), 'Fortran sees (4, 3)')

  ! 5. Kernels in Fortran and in C on the Fortran-order array.
  rc = sharcf_array_create(pool, SHARC_F64, [3_c_int64_t, 4_c_int64_t], ya)
  call sharcf_view(ya, y)
  job = sharcf_job_new()
  call expect(sharcf_job_add(job, fa) == 0 .and. sharcf_job_add(job, ya) == 1, &
       'arrays are added as 0 and 1')
  call expect(sharcf_job_schedule(job, 'dynamic:5') == 0, 'a schedule is set')
  rc = sharcf_run(pool, 'twice', 12_c_int64_t, job)
  call expect(rc == 0, 'the Fortran kernel runs: ' // sharcf_pool_errmsg(pool))
  call expect(all(y == 2 * want), 'y = 2 x exactly')
  call sharc_job_opts_free(job)
  job = sharcf_job_new()
  rc = sharcf_job_add(job, fa)
  rc = sharcf_run(pool, 'add_index', 12_c_int64_t, job)
  call expect(rc == 0, 'the C kernel runs: ' // sharcf_pool_errmsg(pool))
  call expect(all(flat == reshape(want, [12]) + [(i - 1, i = 1, 12)]), &
       'x(k) gained k - 1 in memory order')
  rc = sharcf_run(pool, 'no_such_kernel', 12_c_int64_t, job)
  call expect(rc == SHARC_ENOKERNEL, 'an unknown kernel gives SHARC_ENOKERNEL')
  call sharc_job_opts_free(job)

  ! 6. A Fortran-order .npy file: written through a Fortran view,
  ! column-major on disk, mapped back in place with its own shape.
  rc = sharcf_npy_create(pool, path, SHARC_F64, [3_c_int64_t, 4_c_int64_t], na)
  call expect(rc == 0, 'a Fortran-order .npy is created: ' // sharcf_pool_errmsg(pool))
  if (rc /= 0) call finish()
  call sharcf_view(na, m)
  m = want
  call expect(sharc_array_commit(na) == 0, 'it is committed')
  call sharc_array_destroy(na)
  open (newunit=unit, file=path, access='stream', form='unformatted', &
       status='old', action='read')
  inquire (unit=unit, size=fsize)
  read (unit, pos=fsize - 12 * 8 + 1) disk
  close (unit)
  call expect(all(disk == reshape(want, [12])), &
       'the payload on disk is column-major (Fortran order)')
  rc = sharcf_npy_open(pool, path, SHARC_READ, na)
  call expect(rc == 0, 'the .npy maps: ' // sharcf_pool_errmsg(pool))
  if (rc /= 0) call finish()
  call expect(sharc_array_fortran_order(na) == 1, 'it says Fortran order')
  call sharcf_view(na, m)
  call expect(all(shape(m) == [3, 4]), 'Fortran sees its shape (3, 4)')
  call expect(all(m == want), 'every element is where Fortran expects it')
  call expect(c_associated(c_loc(m(1, 1)), sharc_array_data(na)), &
       'the view is the file''s mapping, not a copy')
  job = sharcf_job_new()
  rc = sharcf_job_add(job, na)
  rc = sharcf_job_add(job, ya)
  y = 0
  rc = sharcf_run(pool, 'twice', 12_c_int64_t, job)
  call expect(rc == 0 .and. all(y == 2 * want), &
       'a Fortran kernel reads the mapped file')
  call sharc_job_opts_free(job)

  call sharc_pool_destroy(pool)
  open (newunit=unit, file=path, status='old')
  close (unit, status='delete')
  call finish()

contains

  subroutine expect(cond, what)
    logical, intent(in) :: cond
    character(len=*), intent(in) :: what
    if (cond) then
      passed = passed + 1
    else
      failed = failed + 1
      print '(2a)', 'FAIL: ', what
    end if
  end subroutine

  subroutine check_dtype(name, value)
    character(len=*), intent(in) :: name
    integer(c_int), intent(in) :: value
    rc = sharc_dtype_parse(name // c_null_char, dt)
    call expect(rc == 0 .and. dt == value, 'SHARC_* dtype constant of ' // name)
  end subroutine

  subroutine finish()
    print '(i0,a,i0,a)', passed, ' passed, ', failed, ' failed'
    if (failed > 0) error stop 1
    stop
  end subroutine

end program fortran_test
