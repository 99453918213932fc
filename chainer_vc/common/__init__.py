"""What every stage uses: user-facing errors, atomic files, audio in and out, label schemas,
devices, and the patches that let Chainer 7.8 run on today's numpy and CuPy."""
