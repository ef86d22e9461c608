// Command benchtool is the Go half of `make bench`: scripts/bench.sh drives the peers and the
// Docker engine, benchtool does what bash cannot do precisely or portably.
//
//	benchtool measure --raw F --size S --name N --run I [--disk DIR]... -- CMD ARGS...
//	    run CMD; append its wall time, peak RSS (the largest resident set of CMD and the
//	    processes it waited for, from wait4) and the peak growth of the DIRs to F
//	benchtool value --raw F --size S --name N --run I --unit U VALUE
//	benchtool bigrun --stub BIN --bytes 2GiB -o FILE.run   (a .run of incompressible data)
//	benchtool dockerarchive FILE.run                       (the upgrader's docker-archive stream, to stdout)
//	benchtool load FILE.run                                (load its images as the upgrade's load step does)
//	benchtool machine                                      (the machine description, JSON)
//	benchtool report --raw F --size S [--mix synthetic|debian] [--packages FILE] ... --md OUT --json OUT
//	benchtool readme --results DIR --readme README.md      (the README section from the latest results,
//	                                                        one column per size and content mix)
//
// It measures what the brief asks without /usr/bin/time so the figures have nanosecond wall
// clocks and the same RSS definition for every command, ours and the peers'.
package main
