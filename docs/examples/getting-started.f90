! y = a*x + y over two shared arrays on a pool of worker processes, with a
! kernel written in Fortran: the complete example of
! docs/getting-started-fortran.md.
!
!   gfortran $(pkg-config --variable=fortran_source sharc) getting-started.f90 \
!            $(pkg-config --libs sharc) -o saxpy
!   ./saxpy 1000000
!
! Exits 0 when every element of y holds a*i + 1 exactly (i from 0).
module saxpy_kernel
  use, intrinsic :: iso_c_binding
  use sharc
  implicit none

contains

  ! Runs in the workers over the 0-based indices [begin, end): elements
  ! begin+1 .. end. The arrays are the coordinator's, never copied.
  integer(c_int) function saxpy(t, begin, end) bind(C)
    type(c_ptr), value :: t
    integer(c_int64_t), value :: begin, end
    real(c_double), pointer :: a ! the job's argument bytes
    real(c_double), pointer :: x(:), y(:)
    integer(c_int64_t) :: i
    call c_f_pointer(sharc_task_args(t, c_null_ptr), a)
    call sharcf_task_view(t, 0, x)
    call sharcf_task_view(t, 1, y)
    do i = begin + 1, end
      y(i) = a * x(i) + y(i)
    end do
    saxpy = 0
  end function

end module saxpy_kernel

program getting_started
  use, intrinsic :: iso_c_binding
  use sharc
  use saxpy_kernel
  implicit none
  type(c_ptr) :: pool, xa, ya, job
  real(c_double), pointer :: x(:), y(:)
  real(c_double), target :: a
  integer(c_int64_t) :: n, i, wrong
  integer(c_int) :: rc
  character(len=32) :: arg
  character(len=256) :: msg

  n = 1000000
  wrong = 0
  if (command_argument_count() > 0) then
    call get_command_argument(1, arg)
    read (arg, *) n
  end if

  ! Kernels are registered before the pool starts its workers.
  rc = sharcf_kernel_register('saxpy', c_funloc(saxpy))
  if (rc == 0) rc = sharcf_pool_create(pool, 0, msg) ! one worker per PU
  if (rc /= 0) then
    print '(2a)', 'saxpy: ', trim(msg)
    stop 1
  end if
  rc = sharcf_array_create(pool, SHARC_F64, [n], xa)
  if (rc == 0) rc = sharcf_array_create(pool, SHARC_F64, [n], ya)
  if (rc /= 0) then
    print '(2a)', 'saxpy: ', sharcf_strerror(rc)
    call sharc_pool_destroy(pool) ! also destroys the arrays made so far
    stop 1
  end if
  call sharcf_view(xa, x) ! the shared data, seen as Fortran arrays
  call sharcf_view(ya, y)
  do i = 1, n
    x(i) = real(i - 1, c_double)
    y(i) = 1
  end do

  a = 2
  job = sharcf_job_new()
  rc = sharcf_job_add(job, xa)  ! the kernel's array 0
  rc = sharcf_job_add(job, ya)  ! and array 1
  rc = sharcf_job_args(job, c_loc(a), c_sizeof(a)) ! copied into the workers
  rc = sharcf_run(pool, 'saxpy', n, job)
  if (rc /= 0) then
    print '(2a)', 'saxpy: ', sharcf_pool_errmsg(pool)
  else
    wrong = count(abs(y - (2 * x + 1)) > 0)
    print '(a,i0,a,i0,a)', 'saxpy: ', n, ' elements on ', &
         sharc_pool_size(pool), ' workers'
    print '(a,i0,a)', 'saxpy: ', wrong, ' wrong elements'
  end if
  call sharc_job_opts_free(job)
  call sharc_pool_destroy(pool)
  if (rc /= 0 .or. wrong /= 0) stop 1
end program getting_started
